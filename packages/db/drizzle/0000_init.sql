CREATE TABLE "links" (
	"code" text PRIMARY KEY NOT NULL,
	"target" text NOT NULL,
	"redirect_status" smallint DEFAULT 302 NOT NULL,
	"expires_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"edit_token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "links_redirect_status_check" CHECK ("links"."redirect_status" in (301, 302, 307, 308))
);
--> statement-breakpoint
CREATE INDEX "links_expires_at_idx" ON "links" USING btree ("expires_at");