import type { TokenVerifier } from '../../core/auth.js';
import type { AuthorizationServerContext } from '../context.js';
import { createEmbeddedVerifier } from '../tokens.js';

const verifiers = new WeakMap<AuthorizationServerContext, TokenVerifier>();

/** The embedded verifier of a context, made once (revocation, introspection and userinfo share it). */
export function embeddedVerifier(ctx: AuthorizationServerContext): TokenVerifier {
  let verifier = verifiers.get(ctx);
  if (!verifier) {
    verifier = createEmbeddedVerifier(ctx);
    verifiers.set(ctx, verifier);
  }
  return verifier;
}

/** A JWS compact serialisation has exactly three dot-separated parts; anything else is not worth verifying. */
export function looksLikeJwt(token: string): boolean {
  return token.split('.').length === 3;
}
