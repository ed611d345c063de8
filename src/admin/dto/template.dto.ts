import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsObject, IsString, Matches } from 'class-validator';
import { NAME, NAME_RULE } from '../../notifications/addressed-message';
import type { Template, TemplateStrings } from '../../notifications/templates/template';

export class TemplateParams {
  @ApiProperty({ pattern: NAME.source, example: 'comment.created' })
  @Matches(NAME, { message: `name must be ${NAME_RULE}` })
  @IsString()
  name: string;
}

/** One locale's strings, each ICU MessageFormat. */
export class TemplateStringsBody implements TemplateStrings {
  @ApiProperty({
    maxLength: 2000,
    example: '{count, plural, one {# new comment} other {# new comments}} on {post}',
  })
  title: string;

  @ApiPropertyOptional({ maxLength: 20_000, example: '{actors} commented on {post}' })
  body?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 500 },
    description: 'Button labels by action id',
    example: { reply: 'Reply' },
  })
  actions?: Record<string, string>;
}

const LOCALES_SCHEMA = {
  type: 'object' as const,
  additionalProperties: { $ref: getSchemaPath(TemplateStringsBody) },
  description: 'By BCP 47 tag (stored in canonical form: `pt-br` → `pt-BR`); at most 100',
  example: {
    en: { title: '{count, plural, one {# new comment} other {# new comments}} on {post}' },
    pl: {
      title:
        '{count, plural, one {# nowy komentarz} few {# nowe komentarze} many {# nowych komentarzy} other {# komentarza}} do {post}',
    },
  },
};

/**
 * PUT's body. Only its shape is checked here; Templates checks the rest (every string ICU
 * MessageFormat, the tags, the default among them) and names each problem.
 */
export class TemplateBody {
  @ApiProperty({
    description: 'Used when no locale of the template is near the reader’s',
    example: 'en',
  })
  @IsString()
  defaultLocale: string;

  @ApiProperty(LOCALES_SCHEMA)
  @IsObject()
  locales: Record<string, TemplateStrings>;
}

export class TemplateResponse implements Template {
  @ApiProperty({ example: 'comment.created' })
  name: string;

  @ApiProperty({ type: String, nullable: true, example: 'acme' })
  tenantId: string | null;

  @ApiProperty({ example: 'en' })
  defaultLocale: string;

  @ApiProperty(LOCALES_SCHEMA)
  locales: Record<string, TemplateStrings>;

  @ApiProperty({ description: '1 when created, one more with every PUT', example: 3 })
  revision: number;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}

export class TemplatesResponse {
  @ApiProperty({ type: [TemplateResponse] })
  items: TemplateResponse[];
}
