import http from 'node:http';

/**
 * One MCP POST with a bearer token, over node:http so that any header (Connection included) can be sent
 * and every response header read.
 */
export function mcpPost(url: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers },
      timeout: 10_000,
    });
    request.once('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
    });
    request.once('timeout', () => request.destroy(new Error('no answer in 10 s')));
    request.once('error', reject);
    request.end(JSON.stringify(body));
  });
}
