import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthClientProvider, OAuthTokens } from '@modelcontextprotocol/client';

/**
 * An `OAuthClientProvider` for the official MCP client that plays the user's browser: when the client
 * sends the user to the authorization endpoint, it follows that URL itself (the IdP under test logs the
 * user in without a page) and keeps the `code` of the redirect, for the test to hand to `finishAuth`.
 */
export class TestOAuthProvider implements OAuthClientProvider {
  readonly authorizationUrls: URL[] = [];
  lastCode: string | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  #client: OAuthClientInformationMixed | undefined;

  constructor(
    client: OAuthClientInformationMixed | undefined,
    readonly redirectUrl = 'http://127.0.0.1:1/callback',
  ) {
    this.#client = client;
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'portcullis-test', redirect_uris: [this.redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info;
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url);
    const response = await fetch(url, { redirect: 'manual' });
    const location = response.headers.get('location');
    if (!location) throw new Error(`the authorization endpoint did not redirect (status ${response.status})`);
    const code = new URL(location).searchParams.get('code');
    if (!code) throw new Error(`the redirect carries no code: ${location}`);
    this.lastCode = code;
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    return this.#verifier;
  }
}
