using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Delivery.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue18ChannelChanges : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "channel_changes",
                schema: "delivery",
                columns: table => new
                {
                    delivery_key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    change_seq = table.Column<long>(type: "bigint", nullable: false),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    conversation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    recipient_id = table.Column<Guid>(type: "uuid", nullable: false),
                    channel = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    text = table.Column<string>(type: "text", nullable: true),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    claim_token = table.Column<Guid>(type: "uuid", nullable: true),
                    claimed_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_channel_changes", x => new { x.delivery_key, x.change_seq });
                });

            migrationBuilder.CreateIndex(
                name: "ix_channel_changes_message",
                schema: "delivery",
                table: "channel_changes",
                column: "message_id");

            migrationBuilder.CreateIndex(
                name: "ix_channel_changes_pending",
                schema: "delivery",
                table: "channel_changes",
                column: "next_attempt_at",
                filter: "status = 'pending'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "channel_changes",
                schema: "delivery");
        }
    }
}
