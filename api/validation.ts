/**
 * ajv's validation errors as the API reports them: one `{ field, reason }` per offending field, the
 * reason readable without the schema ("must be <= 100", "must be one of N, NNE, ..."). Pure, so each
 * case is unit-tested without a server.
 */

/** The parts of an ajv error this reads; `parentSchema` is present when ajv runs with `verbose`. */
export interface AjvErrorLike {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  parentSchema?: unknown;
}

export interface ValidationIssue {
  field: string;
  reason: string;
}

/** Keywords that only summarize other errors of the same field. */
const SUMMARY_KEYWORDS = new Set(['anyOf', 'oneOf', 'if']);

/**
 * One issue per field, in the order ajv met them. `part` names the request part ('body', 'querystring')
 * for an error about the whole part (a body that is not an object).
 */
export function validationIssues(errors: readonly AjvErrorLike[], part: string): ValidationIssue[] {
  const byField = new Map<string, AjvErrorLike[]>();
  for (const error of errors) {
    const field = fieldOf(error) ?? part;
    let list = byField.get(field);
    if (!list) byField.set(field, (list = []));
    list.push(error);
  }
  const issues: ValidationIssue[] = [];
  for (const [field, list] of byField) {
    const specific = list.filter((e) => !SUMMARY_KEYWORDS.has(e.keyword));
    const chosen = pick(specific.length > 0 ? specific : list);
    issues.push({ field, reason: reasonOf(chosen) });
  }
  return issues;
}

/** A format or pattern error says more through the schema's description than ajv's regex dump does. */
function pick(errors: AjvErrorLike[]): AjvErrorLike {
  return errors.find((e) => e.keyword === 'format') ?? errors[0]!;
}

function fieldOf(error: AjvErrorLike): string | undefined {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required' && typeof error.params.missingProperty === 'string') {
    path.push(error.params.missingProperty);
  } else if (
    error.keyword === 'additionalProperties' &&
    typeof error.params.additionalProperty === 'string'
  ) {
    path.push(error.params.additionalProperty);
  }
  return path.length === 0 ? undefined : path.join('.');
}

function describedAs(error: AjvErrorLike): string | undefined {
  const schema = error.parentSchema;
  if (typeof schema !== 'object' || schema === null) return undefined;
  const description = (schema as { description?: unknown }).description;
  return typeof description === 'string' ? description : undefined;
}

function reasonOf(error: AjvErrorLike): string {
  const { keyword, params } = error;
  switch (keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not an accepted field';
    case 'type': {
      const types = Array.isArray(params.type) ? params.type : [params.type];
      return `must be ${types.map(String).join(' or ')}`;
    }
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : [];
      const named = allowed.filter((v) => v !== null).map(String);
      return `must be one of ${named.join(', ')}${allowed.includes(null) ? ' (or null)' : ''}`;
    }
    case 'format':
    case 'pattern': {
      const description = describedAs(error);
      if (description !== undefined) return `must be ${description}`;
      return keyword === 'format'
        ? `must be a ${String(params.format)}`
        : `must match ${String(params.pattern)}`;
    }
    default:
      return error.message ?? `fails ${keyword}`;
  }
}
