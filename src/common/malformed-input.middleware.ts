import type { NextFunction, Request, Response } from 'express';
import { malformedJson, malformedText } from './well-formed';

/**
 * Answers 400 before any route sees a request whose path, query or body holds text that cannot be
 * stored as it is, or JSON nested deeper than validation can walk (see well-formed.ts). Runs
 * after the body parsers.
 */
export function rejectMalformedInput(request: Request, response: Response, next: NextFunction) {
  let path: string;
  try {
    path = decodeURIComponent(request.path);
  } catch {
    path = request.path; // a broken %-escape: the router answers it (400 or 404)
  }
  const reason =
    malformedText(path) ??
    malformedJson(request.query) ??
    (request.body === undefined ? undefined : malformedJson(request.body));
  if (!reason) {
    next();
    return;
  }
  response.status(400).json({ statusCode: 400, error: 'Bad Request', message: reason });
}
