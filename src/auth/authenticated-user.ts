/** Who is calling, from a verified token. Structurally a notifications `Recipient`. */
export interface AuthenticatedUser {
  userId: string;
  tenantId: string | null;
  roles: string[];
  /** When the token expires: streams end then (`auth-expired`). */
  expiresAt: Date;
}
