ALTER TABLE "scheduled_notifications" ADD COLUMN "recipients_key" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduled_notifications" DROP CONSTRAINT "scheduled_notifications_tenant_id_id_pk";--> statement-breakpoint
ALTER TABLE "scheduled_notifications" ADD CONSTRAINT "scheduled_notifications_tenant_id_id_recipients_key_pk" PRIMARY KEY("tenant_id","id","recipients_key");
