// Reads the development mail sink: one raw `.eml` file per message in MAIL_SINK_DIR.
// A tiny MIME reader (headers, multipart, quoted-printable, base64) is enough for the
// messages the mail worker writes, and keeps the test free of mail libraries.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

function splitHeaders(raw) {
  const end = raw.search(/\r?\n\r?\n/);
  const head = end === -1 ? raw : raw.slice(0, end);
  const body = end === -1 ? '' : raw.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { headers, body };
}

function decodeBody(body, encoding = '') {
  const kind = encoding.toLowerCase();
  if (kind === 'base64') {
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  if (kind === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** All text of a message (every text part, decoded), for finding links in it. */
export function messageText(raw) {
  const { headers, body } = splitHeaders(raw);
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];

  if (type.toLowerCase().startsWith('multipart/') && boundary) {
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .map((part) => messageText(part.replace(/^\r?\n/, '')))
      .join('\n');
  }
  return decodeBody(body, headers['content-transfer-encoding']);
}

export function recipientsOf(raw) {
  return (splitHeaders(raw).headers.to ?? '').toLowerCase();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits (at most `timeoutMs`) for the newest message to `address` that contains a link to
 * `/<pathPrefix>/<token>`, newer than `since`; returns the token.
 */
export async function waitForLinkToken(
  dir,
  address,
  pathPrefix,
  { since = 0, timeoutMs = 30_000 } = {},
) {
  const deadline = Date.now() + timeoutMs;
  const pattern = new RegExp(`/${pathPrefix}/([A-Za-z0-9_.-]+)`);

  while (Date.now() < deadline) {
    let names = [];
    try {
      names = (await readdir(dir)).filter((name) => name.endsWith('.eml'));
    } catch {
      // The sink creates the directory with its first message.
    }

    const messages = [];
    for (const name of names) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => null);
      // Skip files still being written: the sink writes the .eml, then the .json beside it.
      if (info && info.mtimeMs >= since && Date.now() - info.mtimeMs > 200) {
        messages.push({ path, mtime: info.mtimeMs });
      }
    }
    messages.sort((a, b) => b.mtime - a.mtime);

    for (const { path } of messages) {
      const raw = await readFile(path, 'utf8');
      if (!recipientsOf(raw).includes(address.toLowerCase())) {
        continue;
      }
      const token = pattern.exec(messageText(raw))?.[1];
      if (token) {
        return token;
      }
    }
    await sleep(300);
  }
  throw new Error(
    `no mail to ${address} with a /${pathPrefix}/ link arrived in ${dir} within ${timeoutMs} ms;` +
      ' is the mail worker running, and is MAIL_SINK_DIR the sink the stack writes to?',
  );
}
