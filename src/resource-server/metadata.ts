/** RFC 9728 §2: the protected resource metadata this server publishes. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: ['header'];
  resource_name?: string;
  resource_documentation?: string;
}

export interface MetadataOptions {
  /** The canonical resource URL (`PUBLIC_URL/mcp`), byte-identical to the audience tokens must carry. */
  resource: string;
  authorizationServers: readonly string[];
  scopes: readonly string[];
  resourceName?: string;
  documentation?: string;
}

/**
 * The RFC 9728 document, serialized once: it is the same for every request.
 *
 * @example
 * const body = protectedResourceMetadata({ resource: 'https://mcp.example.com/mcp', authorizationServers: ['https://idp.example.com'], scopes: ['incidents:read'] });
 */
export function protectedResourceMetadata(options: MetadataOptions): string {
  return JSON.stringify(protectedResourceMetadataDocument(options));
}

/**
 * The RFC 9728 document as an object (what {@link protectedResourceMetadata} serializes), for code that
 * reports it, such as the `mcp_oauth_protected_resource_metadata` tool.
 *
 * @example
 * protectedResourceMetadataDocument({ resource, authorizationServers: [issuer], scopes }).authorization_servers; // [issuer]
 */
export function protectedResourceMetadataDocument(options: MetadataOptions): ProtectedResourceMetadata {
  const document: ProtectedResourceMetadata = {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    scopes_supported: [...options.scopes],
    bearer_methods_supported: ['header'],
  };
  if (options.resourceName) document.resource_name = options.resourceName;
  if (options.documentation) document.resource_documentation = options.documentation;
  return document;
}

/**
 * The metadata URLs of a resource (RFC 9728 §3.1): the well-known suffix inserted between the origin and
 * the resource's path, plus the root form that clients of older drafts try first.
 */
export function metadataPaths(resource: URL): { suffixed: string; root: string } {
  const path = resource.pathname === '/' ? '' : resource.pathname.replace(/\/$/, '');
  return { suffixed: `/.well-known/oauth-protected-resource${path}`, root: '/.well-known/oauth-protected-resource' };
}
