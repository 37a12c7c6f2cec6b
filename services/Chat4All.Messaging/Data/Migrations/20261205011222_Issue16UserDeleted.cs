using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Messaging.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue16UserDeleted : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "deleted_at",
                schema: "messaging",
                table: "users",
                type: "timestamp with time zone",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "deleted_at",
                schema: "messaging",
                table: "users");
        }
    }
}
