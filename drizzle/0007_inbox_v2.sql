ALTER TABLE "notifications" ADD COLUMN "url" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "actions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "category" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "seen_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "interacted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "interaction" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "snoozed_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "collapse_key" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "group_key" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "group_count" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "group_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "actors" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "locale" text;--> statement-breakpoint
ALTER TABLE "preferences" ADD COLUMN "muted_categories" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "preferences" ADD COLUMN "locale" text;--> statement-breakpoint
CREATE INDEX "notifications_unseen_idx" ON "notifications" USING btree ("tenant_id","user_id","id") WHERE "notifications"."seen_at" IS NULL AND "notifications"."read_at" IS NULL AND "notifications"."archived_at" IS NULL AND "notifications"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX "notifications_category_idx" ON "notifications" USING btree ("tenant_id","user_id","category","id") WHERE "notifications"."deleted_at" IS NULL AND "notifications"."category" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "notifications_collapse_idx" ON "notifications" USING btree ("tenant_id","user_id","collapse_key","id") WHERE "notifications"."collapse_key" IS NOT NULL AND "notifications"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX "notifications_group_idx" ON "notifications" USING btree ("tenant_id","user_id","group_key","id") WHERE "notifications"."group_key" IS NOT NULL AND "notifications"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX "notifications_snoozed_idx" ON "notifications" USING btree ("snoozed_until") WHERE "notifications"."snoozed_until" IS NOT NULL;