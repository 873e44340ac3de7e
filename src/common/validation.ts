import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { AppError } from './app-error.js';

function firstProblem(errors: ValidationError[], parent = ''): { field: string; message: string } | undefined {
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const constraints = Object.values(e.constraints ?? {});
    if (constraints.length) return { field, message: constraints.join('; ') };
    const nested = firstProblem(e.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * A top-level `null` in a JSON body is a field left out, as Go's decoder leaves Mattermost's pointer fields nil: class-
 * validator's @IsOptional() lets null through, and a `"is_pinned": null` would otherwise reach a NOT NULL column (a 500
 * the fuzz suite found). Nested values (props) keep their nulls.
 */
class DtoValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && value && typeof value === 'object' && !Array.isArray(value) && this.toValidate(metadata)) {
      value = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
    }
    return super.transform(value, metadata);
  }
}

/** DTO validation for the client API: a 400 AppError that names the offending field. */
export function createValidationPipe(): ValidationPipe {
  return new DtoValidationPipe({
    transform: true,
    whitelist: true,
    forbidUnknownValues: false,
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const p = firstProblem(errors);
      return AppError.invalidBodyParam(p?.field ?? 'body', p?.message ?? '');
    },
  });
}
