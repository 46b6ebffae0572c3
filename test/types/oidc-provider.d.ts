/**
 * The little of `oidc-provider` (v9, no type declarations of its own) the tests use: a real OpenID Provider
 * run in the test process as federated login's upstream (test/helpers/upstream-idp.ts).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    /** The Koa request listener, for `http.createServer`. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
    proxy: boolean;
  }
}
