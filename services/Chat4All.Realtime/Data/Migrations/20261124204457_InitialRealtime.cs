using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Realtime.Data.Migrations
{
    /// <inheritdoc />
    public partial class InitialRealtime : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "realtime");

            migrationBuilder.CreateTable(
                name: "memberships",
                schema: "realtime",
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
                name: "message_log",
                schema: "realtime",
                columns: table => new
                {
                    conversation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    seq = table.Column<long>(type: "bigint", nullable: false),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    data = table.Column<string>(type: "jsonb", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_message_log", x => new { x.conversation_id, x.seq });
                });

            migrationBuilder.CreateIndex(
                name: "IX_memberships_user_id_conversation_id",
                schema: "realtime",
                table: "memberships",
                columns: new[] { "user_id", "conversation_id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "memberships",
                schema: "realtime");

            migrationBuilder.DropTable(
                name: "message_log",
                schema: "realtime");
        }
    }
}
