using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Chat4All.Files.Data.Migrations
{
    /// <inheritdoc />
    public partial class InitialFiles : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "files");

            migrationBuilder.CreateTable(
                name: "assembly_runs",
                schema: "files",
                columns: table => new
                {
                    upload_id = table.Column<Guid>(type: "uuid", nullable: false),
                    next_step = table.Column<int>(type: "integer", nullable: false),
                    finished = table.Column<bool>(type: "boolean", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    lease_owner = table.Column<Guid>(type: "uuid", nullable: true),
                    lease_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_assembly_runs", x => x.upload_id);
                });

            migrationBuilder.CreateTable(
                name: "files",
                schema: "files",
                columns: table => new
                {
                    file_id = table.Column<Guid>(type: "uuid", nullable: false),
                    upload_id = table.Column<Guid>(type: "uuid", nullable: false),
                    conversation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    owner_id = table.Column<Guid>(type: "uuid", nullable: false),
                    file_name = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    mime_type = table.Column<string>(type: "character varying(127)", maxLength: 127, nullable: false),
                    size = table.Column<long>(type: "bigint", nullable: false),
                    sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    blob_key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_files", x => x.file_id);
                });

            migrationBuilder.CreateTable(
                name: "memberships",
                schema: "files",
                columns: table => new
                {
                    conversation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    user_id = table.Column<Guid>(type: "uuid", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_memberships", x => new { x.conversation_id, x.user_id });
                });

            migrationBuilder.CreateTable(
                name: "outbox",
                schema: "files",
                columns: table => new
                {
                    position = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    event_id = table.Column<Guid>(type: "uuid", nullable: false),
                    topic = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    type = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    partition_key = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    bucket = table.Column<int>(type: "integer", nullable: false),
                    payload = table.Column<string>(type: "jsonb", nullable: false),
                    traceparent = table.Column<string>(type: "character varying(55)", maxLength: 55, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    published_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    dead_lettered_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_outbox", x => x.position);
                });

            migrationBuilder.CreateTable(
                name: "uploads",
                schema: "files",
                columns: table => new
                {
                    upload_id = table.Column<Guid>(type: "uuid", nullable: false),
                    conversation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    owner_id = table.Column<Guid>(type: "uuid", nullable: false),
                    file_name = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    mime_type = table.Column<string>(type: "character varying(127)", maxLength: 127, nullable: false),
                    file_size = table.Column<long>(type: "bigint", nullable: false),
                    chunk_size = table.Column<long>(type: "bigint", nullable: false),
                    total_chunks = table.Column<int>(type: "integer", nullable: false),
                    checksum_sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    content_sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    failure_reason = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    blob_key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    staging_handle = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    file_id = table.Column<Guid>(type: "uuid", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    merge_requested_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_uploads", x => x.upload_id);
                });

            migrationBuilder.CreateTable(
                name: "upload_chunks",
                schema: "files",
                columns: table => new
                {
                    upload_id = table.Column<Guid>(type: "uuid", nullable: false),
                    chunk_number = table.Column<int>(type: "integer", nullable: false),
                    state = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    size = table.Column<long>(type: "bigint", nullable: false),
                    sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    etag = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    claim_id = table.Column<Guid>(type: "uuid", nullable: false),
                    claimed_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    stored_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_upload_chunks", x => new { x.upload_id, x.chunk_number });
                    table.ForeignKey(
                        name: "FK_upload_chunks_uploads_upload_id",
                        column: x => x.upload_id,
                        principalSchema: "files",
                        principalTable: "uploads",
                        principalColumn: "upload_id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_assembly_runs_due",
                schema: "files",
                table: "assembly_runs",
                column: "next_attempt_at",
                filter: "NOT finished");

            migrationBuilder.CreateIndex(
                name: "IX_files_conversation_id",
                schema: "files",
                table: "files",
                column: "conversation_id");

            migrationBuilder.CreateIndex(
                name: "IX_files_upload_id",
                schema: "files",
                table: "files",
                column: "upload_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_outbox_event_id",
                schema: "files",
                table: "outbox",
                column: "event_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_outbox_pending",
                schema: "files",
                table: "outbox",
                columns: new[] { "bucket", "position" },
                filter: "published_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_uploads_expiring",
                schema: "files",
                table: "uploads",
                column: "expires_at",
                filter: "status IN ('pending', 'uploading', 'failed')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "assembly_runs",
                schema: "files");

            migrationBuilder.DropTable(
                name: "files",
                schema: "files");

            migrationBuilder.DropTable(
                name: "memberships",
                schema: "files");

            migrationBuilder.DropTable(
                name: "outbox",
                schema: "files");

            migrationBuilder.DropTable(
                name: "upload_chunks",
                schema: "files");

            migrationBuilder.DropTable(
                name: "uploads",
                schema: "files");
        }
    }
}
