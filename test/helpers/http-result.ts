/** A finished HTTP exchange as tests assert on it: status, headers, the body parsed as JSON ({} if it is not), and its text. */
export interface HttpResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

/** Reads a response whole into an {@link HttpResult}. */
export async function readResult(response: Response): Promise<HttpResult> {
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // not JSON: body stays {}
  }
  return { status: response.status, headers: response.headers, body, text };
}
