import { randomBytes } from 'node:crypto';
import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import type { UserAgent } from './user-agent.js';

export interface UserOAuthProviderOptions {
  /** Where the authorization server sends the user back (never listened on: the agent stops at the redirect). */
  redirectUrl?: string;
  /** An https URL: the client is known by its metadata document there instead of registering. */
  clientMetadataUrl?: string;
  clientName?: string;
}

/**
 * An `OAuthClientProvider` for the official MCP client with a person behind it: when the client sends
 * the user to the authorization endpoint, a {@link UserAgent} logs in and consents over HTTP, and the
 * authorization response (`code`, `state`, `iss`) is kept in {@link callback} for `finishAuth`. It keeps
 * everything a real provider persists (client, tokens, verifier, discovery state), checks `state`, and
 * records every token set it is given, so a test can tell an authorization from a refresh.
 */
export class UserOAuthProvider implements OAuthClientProvider {
  readonly authorizationUrls: URL[] = [];
  /** Every token set the SDK saved, in order. */
  readonly savedTokens: StoredOAuthTokens[] = [];
  /** The query of the last authorization response. */
  callback: URLSearchParams | undefined;
  readonly clientMetadataUrl: string | undefined;
  readonly #redirectUrl: string;
  readonly #clientName: string;
  #client: StoredOAuthClientInformation | undefined;
  #tokens: StoredOAuthTokens | undefined;
  #verifier = '';
  #state = '';
  #discovery: OAuthDiscoveryState | undefined;

  constructor(readonly agent: UserAgent, options: UserOAuthProviderOptions = {}) {
    this.#redirectUrl = options.redirectUrl ?? 'http://127.0.0.1:33418/callback';
    this.#clientName = options.clientName ?? 'portcullis-e2e';
    this.clientMetadataUrl = options.clientMetadataUrl;
  }

  get redirectUrl(): string {
    return this.#redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: this.#clientName, redirect_uris: [this.#redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }

  state(): string {
    this.#state = randomBytes(16).toString('base64url');
    return this.#state;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.#client;
  }

  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.#client = info;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.#tokens;
  }

  /** While set, {@link saveTokens} waits for it: a test holds new tokens back to line up concurrent refreshes. */
  gate: Promise<unknown> | undefined;

  async saveTokens(tokens: StoredOAuthTokens): Promise<void> {
    await this.gate;
    this.#tokens = tokens;
    this.savedTokens.push(tokens);
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    return this.#verifier;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#verifier = '';
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url);
    const back = await this.agent.authorize(url);
    if (`${back.origin}${back.pathname}` !== new URL(this.#redirectUrl).href) throw new Error(`redirected to ${back.href}, not to the redirect URI`);
    // RFC 6749 §10.12: the client checks that the response answers its own request.
    if (back.searchParams.get('state') !== this.#state) throw new Error(`state mismatch: sent ${this.#state}, got ${back.searchParams.get('state')}`);
    if (back.searchParams.has('error')) throw new Error(`authorization refused: ${back.searchParams.get('error')} ${back.searchParams.get('error_description') ?? ''}`);
    this.callback = back.searchParams;
  }

  /**
   * Makes the stored access token one the server refuses (as an expired one would be), keeping the refresh
   * token: the next request gets a 401 and the SDK must refresh to go on. Returns the spoiled token.
   */
  spoilAccessToken(): string {
    if (!this.#tokens) throw new Error('no tokens to spoil');
    const token = this.#tokens.access_token;
    // Change one character inside the signature (not the last, whose low bits are padding): same header
    // and claims, a signature that no longer verifies.
    const at = token.length - 10;
    const spoiled = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
    this.#tokens = { ...this.#tokens, access_token: spoiled };
    return spoiled;
  }
}
