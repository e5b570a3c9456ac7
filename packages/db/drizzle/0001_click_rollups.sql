CREATE TABLE "click_batches" (
	"id" text PRIMARY KEY NOT NULL,
	"counted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "click_rollups" (
	"code" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"outcome" text NOT NULL,
	"country" text NOT NULL,
	"referrer_host" text NOT NULL,
	"device" text NOT NULL,
	"bot" boolean NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "click_rollups_pkey" PRIMARY KEY("code","hour","outcome","country","referrer_host","device","bot"),
	CONSTRAINT "click_rollups_outcome_check" CHECK ("click_rollups"."outcome" in ('redirect', 'not_found', 'gone')),
	CONSTRAINT "click_rollups_count_check" CHECK ("click_rollups"."count" > 0)
);
