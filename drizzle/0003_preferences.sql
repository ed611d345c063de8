CREATE TABLE "preferences" (
	"tenant_id" text DEFAULT '' NOT NULL,
	"user_id" text NOT NULL,
	"muted_types" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "preferences_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id")
);
