using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Messaging.Data.Migrations
{
    /// <inheritdoc />
    public partial class MessageFallbackChannel : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "fallback_from",
                schema: "messaging",
                table: "receipts",
                type: "character varying(16)",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "fallback_channel",
                schema: "messaging",
                table: "messages",
                type: "character varying(16)",
                maxLength: 16,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "fallback_from",
                schema: "messaging",
                table: "receipts");

            migrationBuilder.DropColumn(
                name: "fallback_channel",
                schema: "messaging",
                table: "messages");
        }
    }
}
