// Test-only SMTP server: accepts every message and writes it to a folder. Never use it in production.
//
//   node tools/servers/smtp-sink.mjs --port <n> --mail-dir <dir> [--host 127.0.0.1]
//                                    [--cert <cert.pem> --key <key.pem>]
//
// Every option can also come from the environment: SMTP_SINK_PORT, SMTP_SINK_MAIL_DIR, SMTP_SINK_HOST,
// SMTP_SINK_CERT, SMTP_SINK_KEY. Authentication: when SMTP_SINK_USER and SMTP_SINK_PASSWORD are set,
// AUTH PLAIN or LOGIN with exactly those is required before MAIL FROM (and, as on a real server, AUTH
// is only offered after STARTTLS). When they are not set, no authentication is required.
//
// TLS: STARTTLS uses the PEM certificate and key given; without them it falls back to the self-signed
// test certificate bundled inside smtp-server (CN=localhost).
//
// Output, for each message: <id>.eml (the raw message as received) and then <id>.json (the envelope:
// mailFrom, rcptTo, user, secure, size, receivedAt, eml). Both are written to a temporary name and
// renamed, and the .json comes last: a reader that sees <id>.json can read both files whole.
//
// Prints "SMTP-SINK READY <host>:<port>" on stdout once listening. Exits 0 on SIGTERM or SIGINT.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    'mail-dir': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
});

const host = values.host ?? process.env.SMTP_SINK_HOST ?? '127.0.0.1';
const port = Number(values.port ?? process.env.SMTP_SINK_PORT);
const mailDir = values['mail-dir'] ?? process.env.SMTP_SINK_MAIL_DIR;
const certPath = values.cert ?? process.env.SMTP_SINK_CERT;
const keyPath = values.key ?? process.env.SMTP_SINK_KEY;
const user = process.env.SMTP_SINK_USER || undefined;
const password = process.env.SMTP_SINK_PASSWORD ?? '';

function fail(message) {
  console.error(`smtp-sink: ${message}`);
  process.exit(2);
}

if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  fail('a TCP port is required: --port <n> or SMTP_SINK_PORT');
}
if (!mailDir) {
  fail('a mail folder is required: --mail-dir <dir> or SMTP_SINK_MAIL_DIR');
}
if (Boolean(certPath) !== Boolean(keyPath)) {
  fail('--cert and --key go together');
}
mkdirSync(mailDir, { recursive: true });

const tls = certPath ? { cert: readFileSync(certPath), key: readFileSync(keyPath) } : {};

function sameSecret(given, expected) {
  const a = Buffer.from(given ?? '', 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

let sequence = 0;

async function writeAtomically(path, data) {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, data);
  await rename(temp, path);
}

async function store(raw, session) {
  sequence += 1;
  const id = `${Date.now()}-${process.pid}-${String(sequence).padStart(6, '0')}-${randomBytes(3).toString('hex')}`;
  const envelope = {
    id,
    eml: `${id}.eml`,
    mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    rcptTo: session.envelope.rcptTo.map((r) => r.address),
    user: session.user || null,
    secure: Boolean(session.secure),
    size: raw.length,
    receivedAt: new Date().toISOString(),
  };
  await writeAtomically(join(mailDir, `${id}.eml`), raw);
  await writeAtomically(join(mailDir, `${id}.json`), JSON.stringify(envelope, null, 2));
}

const server = new SMTPServer({
  ...tls,
  name: 'smtp-sink.test',
  banner: 'BackupDr test SMTP sink',
  authMethods: ['PLAIN', 'LOGIN'],
  authOptional: !user,
  disabledCommands: user ? [] : ['AUTH'],
  size: 50 * 1024 * 1024,
  logger: false,
  onAuth(auth, session, callback) {
    if (user && auth.username === user && sameSecret(auth.password, password)) {
      callback(null, { user: auth.username });
      return;
    }
    const error = new Error('Invalid username or password');
    error.responseCode = 535;
    callback(error);
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('error', callback);
    stream.on('end', () => {
      if (stream.sizeExceeded) {
        const error = new Error('Message exceeds the size limit');
        error.responseCode = 552;
        callback(error);
        return;
      }
      store(Buffer.concat(chunks), session).then(
        () => callback(null, 'Stored'),
        (error) => {
          console.error(`smtp-sink: cannot store a message: ${error.message}`);
          const reply = new Error('Cannot store the message');
          reply.responseCode = 451;
          callback(reply);
        },
      );
    });
  },
});

server.on('error', (error) => {
  console.error(`smtp-sink: ${error.message}`);
  if (!server.server?.listening) {
    process.exit(1);
  }
});

server.listen(port, host, () => {
  console.log(`SMTP-SINK READY ${host}:${port}`);
});

let stopping = false;
function stop(signal) {
  if (stopping) {
    return;
  }
  stopping = true;
  console.log(`smtp-sink: ${signal}, closing`);
  // Open client connections get a few seconds to finish, then the process ends anyway.
  setTimeout(() => process.exit(0), 3000).unref();
  server.close(() => process.exit(0));
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
