using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Realtime.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue16PresenceCorrespondences : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "correspondences",
                schema: "realtime",
                columns: table => new
                {
                    sender_id = table.Column<Guid>(type: "uuid", nullable: false),
                    recipient_id = table.Column<Guid>(type: "uuid", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_correspondences", x => new { x.sender_id, x.recipient_id });
                });

            // Who already wrote to whom, from the messages realtime has logged, so presence stays visible
            // between people who had exchanged messages before this rule.
            migrationBuilder.Sql("""
                INSERT INTO realtime.correspondences (sender_id, recipient_id)
                SELECT DISTINCT (l.data->>'sender_id')::uuid, m.user_id
                FROM realtime.message_log l JOIN realtime.memberships m ON m.conversation_id = l.conversation_id
                WHERE m.user_id <> (l.data->>'sender_id')::uuid
                ON CONFLICT DO NOTHING
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "correspondences",
                schema: "realtime");
        }
    }
}
