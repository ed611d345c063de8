CREATE TABLE "known_users" (
	"tenant_id" text DEFAULT '' NOT NULL,
	"user_id" text NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "known_users_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "scheduled_notifications" (
	"tenant_id" text DEFAULT '' NOT NULL,
	"id" text NOT NULL,
	"command" jsonb NOT NULL,
	"deliver_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_until" timestamp with time zone,
	CONSTRAINT "scheduled_notifications_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "topic_subscriptions" (
	"tenant_id" text DEFAULT '' NOT NULL,
	"topic" text NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "topic_subscriptions_tenant_id_topic_user_id_pk" PRIMARY KEY("tenant_id","topic","user_id")
);
--> statement-breakpoint
CREATE INDEX "scheduled_notifications_due_idx" ON "scheduled_notifications" USING btree ("deliver_at");--> statement-breakpoint
CREATE INDEX "topic_subscriptions_user_idx" ON "topic_subscriptions" USING btree ("tenant_id","user_id");