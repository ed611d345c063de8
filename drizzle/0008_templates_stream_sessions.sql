CREATE TABLE "stream_sessions" (
	"session_hash" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"tenant_id" text DEFAULT '' NOT NULL,
	"user_id" text NOT NULL,
	"roles" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "templates" (
	"tenant_id" text DEFAULT '' NOT NULL,
	"name" text NOT NULL,
	"default_locale" text NOT NULL,
	"locales" jsonb NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "templates_tenant_id_name_pk" PRIMARY KEY("tenant_id","name")
);
--> statement-breakpoint
CREATE INDEX "stream_sessions_token_idx" ON "stream_sessions" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "stream_sessions_expires_idx" ON "stream_sessions" USING btree ("expires_at");