import { HttpError, OAuthError } from '../../core/errors.js';
import { bearerToken } from '../../resource-server/bearer.js';
import type { Endpoint } from '../context.js';
import { embeddedVerifier } from '../lib/verifier.js';
import { ChallengeError, sendNoStore } from '../respond.js';

const REALM = 'realm="portcullis"';

/**
 * `GET|POST /oauth/userinfo`: who the access token's user is, `{ "sub", "preferred_username" }` (the
 * OpenID Connect Core §5.3 response shape, without the OIDC `openid` scope requirement: we issue no ID
 * tokens, and the token is already bound to this server's resource).
 *
 * The token comes from the Authorization header only (RFC 6750 §2.1). No token → 401 with a bare
 * `Bearer` challenge (§3.1: no error code); a malformed header → 400 `invalid_request`; a token that does
 * not verify, or whose subject is not a user (a client-credentials token, a deleted user) → 401
 * `invalid_token`, each with `WWW-Authenticate: Bearer …` (§3).
 */
export const userinfo: Endpoint = async (ctx, req, res) => {
  if (req.method !== 'GET' && req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'Use GET or POST', { allow: 'GET, POST' });
  let token: string | undefined;
  try {
    token = bearerToken(req);
  } catch (err) {
    throw err instanceof OAuthError ? challenge(err) : err;
  }
  if (token === undefined) throw new ChallengeError('invalid_token', 401, 'An access token is required', { 'www-authenticate': `Bearer ${REALM}` }, { bare: true });

  let subject: string;
  try {
    subject = (await embeddedVerifier(ctx).verify(token)).subject;
  } catch (err) {
    throw err instanceof OAuthError && err.code === 'invalid_token' ? challenge(err) : err;
  }
  const user = await ctx.stores.users.get(subject);
  if (!user) throw challenge(new OAuthError('invalid_token', 401, 'The access token does not name a user'));
  sendNoStore(res, 200, { sub: user.id, preferred_username: user.username });
};

/** The error with its RFC 6750 §3 challenge (descriptions are our own text: nothing to escape but quotes). */
function challenge(error: OAuthError): ChallengeError {
  const description = error.description.replace(/["\\]/g, '');
  return new ChallengeError(error.code, error.status, error.description, { 'www-authenticate': `Bearer ${REALM}, error="${error.code}", error_description="${description}"` }, { detail: error.detail });
}
