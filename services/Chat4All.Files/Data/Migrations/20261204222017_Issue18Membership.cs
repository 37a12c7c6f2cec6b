using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Files.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue18Membership : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "left_at_seq",
                schema: "files",
                table: "memberships",
                type: "bigint",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "left_at_seq",
                schema: "files",
                table: "memberships");
        }
    }
}
