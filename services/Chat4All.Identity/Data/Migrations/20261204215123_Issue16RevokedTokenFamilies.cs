using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chat4All.Identity.Data.Migrations
{
    /// <inheritdoc />
    public partial class Issue16RevokedTokenFamilies : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "revoked_token_families",
                schema: "identity",
                columns: table => new
                {
                    authorization_id = table.Column<string>(type: "text", nullable: false),
                    revoked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_revoked_token_families", x => x.authorization_id);
                    table.ForeignKey(
                        name: "FK_revoked_token_families_OpenIddictAuthorizations_authorizati~",
                        column: x => x.authorization_id,
                        principalSchema: "identity",
                        principalTable: "OpenIddictAuthorizations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "revoked_token_families",
                schema: "identity");
        }
    }
}
