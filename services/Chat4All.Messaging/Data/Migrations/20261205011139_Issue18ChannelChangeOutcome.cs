using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Messaging.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue18ChannelChangeOutcome : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "channel_change",
                schema: "messaging",
                table: "receipts",
                type: "character varying(32)",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "channel_change_seq",
                schema: "messaging",
                table: "receipts",
                type: "bigint",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "channel_change",
                schema: "messaging",
                table: "receipts");

            migrationBuilder.DropColumn(
                name: "channel_change_seq",
                schema: "messaging",
                table: "receipts");
        }
    }
}
