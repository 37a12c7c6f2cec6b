using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Delivery.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue15ChannelOrder : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "position",
                schema: "delivery",
                table: "channel_addresses",
                type: "integer",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "position",
                schema: "delivery",
                table: "channel_addresses");
        }
    }
}
