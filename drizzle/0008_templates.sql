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
