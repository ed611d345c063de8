import type { Template, TemplateDefinition } from './template';

/** Who owns a template and what it is called. */
export interface TemplateKey {
  tenantId: string | null;
  name: string;
}

/** Storage of templates; implemented over Drizzle in templates-drizzle.repository.ts. */
export abstract class TemplatesRepository {
  /** Creates or replaces it; the revision grows by one. */
  abstract put(key: TemplateKey, definition: TemplateDefinition): Promise<Template>;

  abstract get(key: TemplateKey): Promise<Template | null>;

  /** A tenant's templates, by name. */
  abstract list(tenantId: string | null): Promise<Template[]>;

  /** Whether there was one to delete. */
  abstract delete(key: TemplateKey): Promise<boolean>;

  /** Those of `keys` that exist, in one query (per ingest batch). */
  abstract find(keys: TemplateKey[]): Promise<Template[]>;
}
