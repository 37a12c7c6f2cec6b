using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Files.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue16FilesTenant : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Memberships from before take the default tenant (Chat4All:DefaultTenantId's default), as
            // messaging's conversations from before tenants did; new rows carry their event's tenant.
            migrationBuilder.AddColumn<Guid>(
                name: "tenant_id",
                schema: "files",
                table: "memberships",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000001"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "tenant_id",
                schema: "files",
                table: "memberships");
        }
    }
}
