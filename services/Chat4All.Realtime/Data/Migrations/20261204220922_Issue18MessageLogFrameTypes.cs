using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Realtime.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue18MessageLogFrameTypes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "frame_type",
                schema: "realtime",
                table: "message_log",
                type: "character varying(32)",
                maxLength: 32,
                nullable: false,
                defaultValue: "message.created");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "frame_type",
                schema: "realtime",
                table: "message_log");
        }
    }
}
