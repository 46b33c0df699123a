/**
 * A checker for the small subset of JSON Schema the daemon's own schemas use (`type`, `enum`,
 * `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`, `properties`, `required`,
 * `additionalProperties: false`, `anyOf`). The HTTP API validates requests with Fastify's
 * validator; this lets the daemon check what it reads back from `state.json` against the very
 * same schemas, so the two can never disagree about what a valid setting is.
 */
import type { JsonSchema } from './http/schemas.js';

function typeMatches(type: string, v: unknown): boolean {
  switch (type) {
    case 'null':
      return v === null;
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    default:
      return false;
  }
}

/** True when `v` conforms to `schema` (within the subset above; other keywords are ignored). */
export function conforms(schema: JsonSchema, v: unknown): boolean {
  const s = schema as {
    type?: string | readonly string[];
    enum?: readonly unknown[];
    minimum?: number;
    maximum?: number;
    minLength?: number;
    maxLength?: number;
    pattern?: string;
    properties?: Readonly<Record<string, JsonSchema>>;
    required?: readonly string[];
    additionalProperties?: boolean;
    anyOf?: readonly JsonSchema[];
  };
  if (s.anyOf !== undefined && !s.anyOf.some((alt) => conforms(alt, v))) return false;
  if (s.type !== undefined) {
    const types = typeof s.type === 'string' ? [s.type] : s.type;
    if (!types.some((t) => typeMatches(t, v))) return false;
  }
  if (s.enum !== undefined && !s.enum.includes(v)) return false;
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) return false;
    if (s.maximum !== undefined && v > s.maximum) return false;
  }
  if (typeof v === 'string') {
    if (s.minLength !== undefined && v.length < s.minLength) return false;
    if (s.maxLength !== undefined && v.length > s.maxLength) return false;
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) return false;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of s.required ?? []) if (!(k in o)) return false;
    for (const [k, value] of Object.entries(o)) {
      const sub = s.properties?.[k];
      if (sub === undefined) {
        if (s.additionalProperties === false) return false;
      } else if (!conforms(sub, value)) return false;
    }
  }
  return true;
}
