/**
 * The few MCP client steps the benchmark needs before load: open a session (initialize, then the
 * `initialized` notification) and check that one `tools/call` of `add` really answers `3`, so a row
 * that only returns errors fast can never enter the table.
 */
export const PROTOCOL_VERSION = '2025-11-25';

/** The loaded request body. autocannon replaces `[<id>]` with a unique id per request. */
export const CALL_BODY = JSON.stringify({ jsonrpc: '2.0', id: '[<id>]', method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } });

/** What every successful answer to {@link CALL_BODY} contains. */
export const CALL_EXPECT = '"text":"3"';

export const INITIALIZE_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'portcullis-bench', version: '0.1.0' } },
});

export const INITIALIZED_BODY = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });

/** Headers of a Streamable HTTP POST (the `Accept` the specification requires of clients). */
export function mcpHeaders(token: string, sessionId?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${token}`,
    'mcp-protocol-version': PROTOCOL_VERSION,
    ...(sessionId !== undefined && { 'mcp-session-id': sessionId }),
  };
}

/** Opens a session and returns its `Mcp-Session-Id`. */
export async function initializeSession(url: string, token: string): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: mcpHeaders(token), body: INITIALIZE_BODY });
  const text = await response.text();
  const sessionId = response.headers.get('mcp-session-id');
  if (!response.ok || sessionId === null) throw new Error(`initialize at ${url} answered ${response.status} without a session: ${text.slice(0, 300)}`);
  const initialized = await fetch(url, { method: 'POST', headers: mcpHeaders(token, sessionId), body: INITIALIZED_BODY });
  await initialized.text();
  if (initialized.status !== 202 && !initialized.ok) throw new Error(`notifications/initialized at ${url} answered ${initialized.status}`);
  return sessionId;
}

/** Sends one {@link CALL_BODY} with `headers` and throws unless the result is the text `3`. */
export async function checkCall(url: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers, body: CALL_BODY.replace('"[<id>]"', '"check"') });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .at(-1)
    : text;
  let text3 = false;
  try {
    const message = JSON.parse(json ?? '') as { result?: { content?: { text?: unknown }[] } };
    text3 = message.result?.content?.[0]?.text === '3';
  } catch {
    // reported below
  }
  if (!response.ok || !text3 || !text.includes(CALL_EXPECT)) throw new Error(`tools/call add at ${url} answered ${response.status}: ${text.slice(0, 300)}`);
}
