#!/usr/bin/env node
// Part of selftest.sh: a bare ActivityPub sender that signs with HTTP signatures only (no LD signature, no
// Object Integrity Proof), as coserver does.  Between two fedify peers, fedify's inbox accepts activities on
// their LD signature and never looks at the HTTP signature; this sender makes the peer's inbox go through
// fedify's HTTP-signature path instead.
//
// It serves actor "bob" on 127.0.0.1:PORT, POSTs a signed Follow to the peer's alice, then the same Follow with
// a body altered after signing, and waits (bounded) for alice's Accept.  Prints one JSON line with the results.
//
// Usage: node bare-sender.mjs --peer http://127.0.0.1:8301 --port 8309 --spec rfc9421|draft-cavage-http-signatures-12
import http from "node:http";
import { parseArgs } from "node:util";
import { exportSpki, generateCryptoKeyPair, signRequest } from "@fedify/fedify";

const { values: args } = parseArgs({
  options: {
    peer: { type: "string", default: "http://127.0.0.1:8301" },
    port: { type: "string", default: "8309" },
    spec: { type: "string", default: "draft-cavage-http-signatures-12" },
  },
});
const BASE = `http://127.0.0.1:${args.port}`;
const alice = `${args.peer}/users/alice`;
const { privateKey, publicKey } = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const actor = {
  "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
  id: `${BASE}/bob`,
  type: "Person",
  preferredUsername: "bob",
  inbox: `${BASE}/bob/inbox`,
  publicKey: { id: `${BASE}/bob#main-key`, owner: `${BASE}/bob`, publicKeyPem: await exportSpki(publicKey) },
};

const received = [];
let onReceived = () => {};
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    if (req.method === "POST" && req.url === "/bob/inbox") {
      try {
        received.push({ json: JSON.parse(body), signed: req.headers["signature"] != null || req.headers["signature-input"] != null });
      } catch {
        received.push({ json: null, signed: false });
      }
      onReceived();
      res.writeHead(202);
      res.end();
    } else if (req.method === "GET" && req.url === "/bob") {
      res.writeHead(200, { "Content-Type": "application/activity+json" });
      res.end(JSON.stringify(actor));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
});
await new Promise((resolve) => server.listen(Number(args.port), "127.0.0.1", resolve));

async function deliver(activity, { alterAfterSigning = false } = {}) {
  const request = new Request(`${alice}/inbox`, {
    method: "POST",
    headers: { "Content-Type": "application/activity+json", Accept: "application/activity+json" },
    body: JSON.stringify(activity),
  });
  let signed = await signRequest(request, privateKey, new URL(`${BASE}/bob#main-key`), { spec: args.spec });
  if (alterAfterSigning) signed = new Request(signed, { body: JSON.stringify({ ...activity, summary: "altered" }) });
  const response = await fetch(signed, { signal: AbortSignal.timeout(20000) });
  return response.status;
}

const result = { spec: args.spec, actor: actor.id };
try {
  const ctx = "https://www.w3.org/ns/activitystreams";
  result.followId = `${BASE}/bob/follows/1`;
  result.followStatus = await deliver({ "@context": ctx, id: result.followId, type: "Follow", actor: actor.id, object: alice });
  result.alteredId = `${BASE}/bob/follows/2`;
  result.alteredStatus = await deliver(
    { "@context": ctx, id: result.alteredId, type: "Follow", actor: actor.id, object: alice },
    { alterAfterSigning: true },
  );
  if (received.length === 0) {
    await new Promise((resolve) => {
      onReceived = resolve;
      setTimeout(resolve, 10000);
    });
  }
  const accept = received.find((r) => r.json?.type === "Accept");
  result.acceptReceived = accept != null;
  result.acceptSigned = accept?.signed ?? false;
  result.acceptObject = typeof accept?.json?.object === "object" ? accept.json.object.id : (accept?.json?.object ?? null);
} catch (e) {
  result.error = String(e?.message ?? e);
}
console.log(JSON.stringify(result));
server.close();
server.closeAllConnections?.();
process.exit(result.error ? 1 : 0);
