/**
 * Schema validation failures as upstream words them. Ajv reports every failure
 * (`allErrors`); the answer names the first field in the route's order, so a body that
 * is wrong in several ways gets the message upstream's hand-written checks would give
 * (hosts, then script, then args...).
 */
import { badRequest, noRoute, type ApiError } from './errors.js';

export interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** One field's messages: `default` for anything, per-keyword overrides. */
export interface FieldMessages {
  default: string;
  [keyword: string]: string;
}

/** A route's fields, in the order upstream checks them. */
export type ValidationMessages = ReadonlyArray<readonly [field: string, messages: FieldMessages]>;

/** What a route puts in its fastify `config`. */
export interface RouteValidationConfig {
  /** Body and query fields. */
  validation?: ValidationMessages;
  /** A path parameter that does not match means "no such route" (upstream matches paths with a regex). */
  paramsMismatchIsNotFound?: boolean;
}

function fieldOf(issue: AjvIssue): string | undefined {
  const path = issue.instancePath ?? '';
  if (path !== '') return path.split('/')[1];
  const missing = issue.params?.missingProperty;
  return typeof missing === 'string' ? missing : undefined;
}

/** Deeper than the field itself (e.g. `/args/0`): an item of the field. */
function isItemIssue(issue: AjvIssue): boolean {
  return (issue.instancePath ?? '').split('/').length > 2;
}

export function validationError(
  context: string | undefined,
  issues: readonly AjvIssue[],
  config: RouteValidationConfig | undefined,
  request: { method: string; url: string },
): ApiError {
  if (context === 'params' && config?.paramsMismatchIsNotFound) return noRoute(request.method, request.url);
  const messages = config?.validation ?? [];
  for (const [field, text] of messages) {
    const issue = issues.find((i) => fieldOf(i) === field);
    if (!issue) continue;
    if (isItemIssue(issue) && text.items !== undefined) return badRequest(text.items);
    const keyword = issue.keyword ?? '';
    return badRequest(text[keyword] ?? text.default);
  }
  const first = issues[0];
  if (!first) return badRequest(`invalid ${context ?? 'request'}`);
  const field = fieldOf(first);
  return badRequest(`${field ?? context ?? 'request'} ${first.message ?? 'is invalid'}`);
}
