CREATE TABLE "reshard_moves" (
	"id" text PRIMARY KEY NOT NULL,
	"moved_at" timestamp with time zone DEFAULT now() NOT NULL
);
