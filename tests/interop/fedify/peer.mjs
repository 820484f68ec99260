#!/usr/bin/env node
// Independent ActivityPub test peer built on the pinned @fedify/fedify library.
//
// One actor, "alice" (Person), served on http://127.0.0.1:PORT, plus a JSON control API under /_control/
// that coserver's Python tests use to make alice follow, post, like, announce, look things up, and to read
// what alice's inboxes received.  Every recorded activity passed fedify's own verification (HTTP Signatures,
// Linked Data Signatures or Object Integrity Proofs): skipSignatureVerification stays false.
//
// Usage: node peer.mjs --port 8301 [--first-knock rfc9421|draft-cavage-http-signatures-12] [--no-ed25519] [--verbose]
// See README.md for the control API.

import http from "node:http";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";

import { createFederation, generateCryptoKeyPair, MemoryKvStore, verifyRequestDetailed } from "@fedify/fedify";
import { parseNodeInfo, nodeInfoToJson } from "@fedify/fedify/nodeinfo";
import {
  Accept, Activity, Add, Announce, Block, Create, Delete, EmojiReact, Endpoints, Flag, Follow, Like, Move,
  Note, Object as APObject, Person, PUBLIC_COLLECTION, Reject, Remove, Tombstone, Undo, Update, isActor,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, defaultTextFormatter } from "@logtape/logtape";

// ---------------------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8301" },
    "first-knock": { type: "string", default: "rfc9421" },
    "no-ed25519": { type: "boolean", default: false },
    "only-accept": { type: "string" },
    verbose: { type: "boolean", default: false },
  },
  strict: true,
});
const PORT = Number.parseInt(args.port, 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error(`invalid --port ${args.port}`);
  process.exit(2);
}
const FIRST_KNOCK = args["first-knock"];
if (FIRST_KNOCK !== "rfc9421" && FIRST_KNOCK !== "draft-cavage-http-signatures-12") {
  console.error(`invalid --first-knock ${FIRST_KNOCK} (rfc9421 | draft-cavage-http-signatures-12)`);
  process.exit(2);
}
const ONLY_ACCEPT = args["only-accept"] ?? null;
if (ONLY_ACCEPT != null && ONLY_ACCEPT !== "rfc9421" && ONLY_ACCEPT !== "draft-cavage-http-signatures-12") {
  console.error(`invalid --only-accept ${ONLY_ACCEPT} (rfc9421 | draft-cavage-http-signatures-12)`);
  process.exit(2);
}
const HOST = "127.0.0.1";
const BASE = `http://${HOST}:${PORT}`;
const IDENTIFIER = "alice";
const MAX_LOG = 1000;

// fedify logs through LogTape; send everything to stderr so stdout stays clean for "PEER READY".
await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { stderr: (record) => process.stderr.write(`[peer ${PORT}] ${defaultTextFormatter(record)}`) },
  loggers: [
    { category: "fedify", lowestLevel: args.verbose ? "debug" : "warning", sinks: ["stderr"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
  ],
});

// ---------------------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------------------

const state = {
  name: "Alice (fedify peer)",
  summary: `<p>Test actor of the @fedify/fedify peer on port ${PORT}.</p>`,
  keyPairs: [],
  inbox: [],          // verified activities, as recorded by the inbox listeners
  unverified: [],     // activities fedify refused because their signature did not verify (answered 401)
  inboxErrors: [],    // errors thrown by listeners or reported by fedify's inbox error handler
  sent: [],           // outbound activities and their delivery results
  requests: [],       // every non-control HTTP request served
  followers: new Map(), // actor id -> {id, inbox, sharedInbox, followId, since}
  following: new Map(), // actor id -> {id, inbox, followId, state: pending|accepted|rejected}
  notes: new Map(),     // note id -> Note
  deletedNotes: new Map(), // note id -> deletion time
  activities: new Map(), // activity id -> Activity (served by object dispatchers)
  outbox: [],           // ids of Create/Announce activities, newest last
};

state.keyPairs.push(await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"));
if (!args["no-ed25519"]) state.keyPairs.push(await generateCryptoKeyPair("Ed25519"));

const waiters = new Set(); // {list, predicate, resolve}
function pushLog(list, item) {
  const arr = state[list];
  arr.push(item);
  if (arr.length > MAX_LOG) arr.splice(0, arr.length - MAX_LOG);
  for (const w of [...waiters]) {
    if (w.list === list && w.predicate(item)) {
      waiters.delete(w);
      w.resolve(item);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Per-request context + a minimal OpenTelemetry tracer that captures fedify's verdict on each inbox delivery.
// fedify emits the span event "activitypub.activity.received" with ld_signatures.verified /
// http_signatures.verified / http_signatures.key_id before it dispatches the activity to a listener; the
// listener then reads it back from the request's AsyncLocalStorage store.
// ---------------------------------------------------------------------------------------------------------------

const requestStore = new AsyncLocalStorage();

function makeSpan() {
  const target = {
    addEvent(name, attrs) {
      if (name === "activitypub.activity.received") {
        const store = requestStore.getStore();
        if (store != null) store.fedifyVerdict = attrs ?? {};
      }
      return span;
    },
    isRecording: () => false,
    spanContext: () => ({ traceId: "00000000000000000000000000000000", spanId: "0000000000000000", traceFlags: 0 }),
    end() {},
  };
  // Any other Span method (setAttribute, setStatus, updateName, recordException, ...) is a chainable no-op.
  const span = new Proxy(target, {
    get(t, prop) {
      if (prop in t) return t[prop];
      if (prop === "then") return undefined;
      return () => span;
    },
  });
  return span;
}
const tracer = {
  startSpan: () => makeSpan(),
  startActiveSpan(_name, ...rest) {
    const fn = rest[rest.length - 1];
    return fn(makeSpan());
  },
};
const tracerProvider = { getTracer: () => tracer };

// ---------------------------------------------------------------------------------------------------------------
// Federation
// ---------------------------------------------------------------------------------------------------------------

const kv = new MemoryKvStore();
const KV_SPECS = ["_fedify", "httpMessageSignaturesSpec"]; // fedify's default kvPrefixes
const KV_CACHES = [["_fedify", "remoteDocument"], ["_fedify", "publicKey"]];
const federation = createFederation({
  kv,
  allowPrivateAddress: true,
  firstKnock: FIRST_KNOCK,
  skipSignatureVerification: false,
  tracerProvider,
});

function aliceContext() {
  return federation.createContext(new URL(BASE), undefined);
}

async function buildAlice(ctx, identifier) {
  const keys = await ctx.getActorKeyPairs(identifier);
  return new Person({
    id: ctx.getActorUri(identifier),
    preferredUsername: identifier,
    name: state.name,
    summary: state.summary,
    url: ctx.getActorUri(identifier),
    inbox: ctx.getInboxUri(identifier),
    outbox: ctx.getOutboxUri(identifier),
    followers: ctx.getFollowersUri(identifier),
    following: ctx.getFollowingUri(identifier),
    endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    manuallyApprovesFollowers: false,
    discoverable: true,
    published: Temporal.Instant.from("2026-01-01T00:00:00Z"),
    publicKey: keys[0]?.cryptographicKey ?? null,
    assertionMethods: keys.map((k) => k.multikey),
  });
}

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    return await buildAlice(ctx, identifier);
  })
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === IDENTIFIER ? state.keyPairs : []));

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const items = [...state.followers.values()].map((f) => ({
      id: new URL(f.id),
      inboxId: f.inbox ? new URL(f.inbox) : null,
      endpoints: f.sharedInbox ? { sharedInbox: new URL(f.sharedInbox) } : null,
    }));
    return { items };
  })
  .setCounter((_ctx, identifier) => (identifier === IDENTIFIER ? state.followers.size : null));

federation
  .setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const items = [...state.following.values()].filter((f) => f.state === "accepted").map((f) => new URL(f.id));
    return { items };
  })
  .setCounter((_ctx, identifier) =>
    identifier === IDENTIFIER ? [...state.following.values()].filter((f) => f.state === "accepted").length : null,
  );

federation
  .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const items = state.outbox.map((id) => state.activities.get(id)).filter((a) => a != null).reverse();
    return { items };
  })
  .setCounter((_ctx, identifier) => (identifier === IDENTIFIER ? state.outbox.length : null));

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (ctx, values) => {
  if (values.identifier !== IDENTIFIER) return null;
  return state.notes.get(ctx.getObjectUri(Note, values).href) ?? null;
});

// Outbound activities are dereferenceable at /users/alice/activities/<kind>/<uuid>.
const ACTIVITY_CLASSES = {
  create: Create, follow: Follow, accept: Accept, reject: Reject, undo: Undo, like: Like, announce: Announce,
  update: Update, delete: Delete, block: Block, flag: Flag, emojireact: EmojiReact, move: Move, add: Add,
  remove: Remove,
};
for (const [kind, cls] of Object.entries(ACTIVITY_CLASSES)) {
  federation.setObjectDispatcher(cls, `/users/{identifier}/activities/${kind}/{id}`, (ctx, values) => {
    if (values.identifier !== IDENTIFIER) return null;
    return state.activities.get(ctx.getObjectUri(cls, values).href) ?? null;
  });
}
function newActivityId(ctx, cls) {
  return ctx.getObjectUri(cls, { identifier: IDENTIFIER, id: randomUUID() });
}

federation.setNodeInfoDispatcher("/nodeinfo/2.1", () => ({
  software: { name: "fedify-test-peer", version: "2.3.6" },
  protocols: ["activitypub"],
  usage: { users: { total: 1, activeMonth: 1, activeHalfyear: 1 }, localPosts: state.notes.size, localComments: 0 },
  openRegistrations: false,
}));

// --- inbox ---------------------------------------------------------------------------------------------------

function parseSignatureHeaders(headers) {
  const sigInput = headers.get("signature-input");
  const sig = headers.get("signature");
  if (sigInput != null) {
    const m = /keyid="([^"]*)"/i.exec(sigInput);
    return { scheme: "rfc9421", keyId: m ? m[1] : null };
  }
  if (sig != null) {
    const m = /keyId="([^"]*)"/i.exec(sig);
    return { scheme: "draft-cavage-http-signatures-12", keyId: m ? m[1] : null };
  }
  if (headers.get("authorization")?.startsWith("Signature ")) {
    const m = /keyId="([^"]*)"/i.exec(headers.get("authorization"));
    return { scheme: "draft-cavage-http-signatures-12 (Authorization header)", keyId: m ? m[1] : null };
  }
  return null;
}

function idOf(v) {
  if (v == null) return null;
  if (typeof v === "string") return v;
  if (typeof v === "object" && typeof v.id === "string") return v.id;
  return null;
}

// Short type name: fedify compacts types it has no term for to full IRIs (e.g. EmojiReact).
function typeName(json, raw, activity) {
  if (typeof json?.type === "string" && !json.type.includes(":")) return json.type;
  const cls = activity.constructor.name;
  if (cls !== "Activity" && cls !== "Object") return cls;
  return typeof raw?.type === "string" ? raw.type : String(json?.type ?? cls);
}

async function record(ctx, activity) {
  const store = requestStore.getStore() ?? {};
  let json = null;
  try {
    json = await activity.toJsonLd({ contextLoader: ctx.contextLoader });
  } catch (e) {
    json = { error: `toJsonLd failed: ${e}` };
  }
  const verdict = store.fedifyVerdict ?? {};
  const item = {
    type: typeName(json, store.rawJson, activity),
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: activity.objectId?.href ?? idOf(store.rawJson?.object),
    recipient: ctx.recipient ?? null,
    inbox: store.path ?? null,
    json,
    raw: store.rawJson ?? null,
    receivedAt: new Date().toISOString(),
    signature: {
      ...(store.signature ?? { scheme: null, keyId: null }),
      // Our own check of the HTTP signature (fedify's verifyRequestDetailed, run before fedify's inbox handler).
      httpVerified: store.httpCheck?.verified ?? null,
      httpFailure: store.httpCheck?.reason ?? null,
      // What fedify's inbox handler used to accept the activity.
      fedifyHttpSignatureVerified: verdict["http_signatures.verified"] ?? null,
      fedifyHttpSignatureKeyId: verdict["http_signatures.key_id"] || null,
      fedifyLdSignatureVerified: verdict["ld_signatures.verified"] ?? null,
      fedifyVerified: verdict["activitypub.activity.verified"] ?? null,
    },
  };
  pushLog("inbox", item);
  return item;
}

function recipientOf(actor) {
  return {
    id: actor.id,
    inboxId: actor.inboxId,
    endpoints: actor.endpoints?.sharedInbox ? { sharedInbox: actor.endpoints.sharedInbox } : null,
  };
}

async function onFollow(ctx, follow, item) {
  const alice = ctx.getActorUri(IDENTIFIER);
  if (follow.objectId?.href !== alice.href || follow.actorId == null) return;
  const followerId = follow.actorId.href;
  state.followers.set(followerId, {
    id: followerId,
    inbox: null,
    sharedInbox: null,
    followId: follow.id?.href ?? null,
    since: item.receivedAt,
  });
  // Accept in the background, as real servers do: the inbox POST is answered first.
  setImmediate(async () => {
    const c = aliceContext();
    try {
      const loader = await c.getDocumentLoader({ identifier: IDENTIFIER });
      const follower = await c.lookupObject(followerId, { documentLoader: loader });
      if (!isActor(follower) || follower.inboxId == null) throw new Error(`follower ${followerId} is not an actor with an inbox`);
      const entry = state.followers.get(followerId);
      if (entry != null) {
        entry.inbox = follower.inboxId.href;
        entry.sharedInbox = follower.endpoints?.sharedInbox?.href ?? null;
      }
      const accept = new Accept({
        id: newActivityId(c, Accept),
        actor: c.getActorUri(IDENTIFIER),
        object: follow,
        to: follower.id,
      });
      await deliver(c, accept, [recipientOf(follower)], {});
    } catch (e) {
      pushLog("inboxErrors", { at: new Date().toISOString(), where: "auto-accept", error: String(e?.stack ?? e) });
    }
  });
}

function matchFollowing(objectId) {
  if (objectId == null) return null;
  for (const f of state.following.values()) if (f.followId === objectId) return f;
  return null;
}

async function onActivity(ctx, activity) {
  const item = await record(ctx, activity);
  if (activity instanceof Follow) {
    await onFollow(ctx, activity, item);
  } else if (activity instanceof Accept || activity instanceof Reject) {
    const f = matchFollowing(activity.objectId?.href ?? idOf(item.raw?.object));
    if (f != null && activity.actorId?.href === f.id) f.state = activity instanceof Accept ? "accepted" : "rejected";
  } else if (activity instanceof Undo) {
    const raw = item.raw?.object;
    const undoneId = activity.objectId?.href ?? idOf(raw);
    for (const [id, f] of state.followers) {
      if (id === activity.actorId?.href && (f.followId === undoneId || (raw?.type === "Follow"))) state.followers.delete(id);
    }
  } else if (activity instanceof Block) {
    if (activity.objectId?.href === ctx.getActorUri(IDENTIFIER).href && activity.actorId != null) {
      state.followers.delete(activity.actorId.href);
      const f = state.following.get(activity.actorId.href);
      if (f != null) f.state = "rejected";
    }
  }
}

const listeners = federation.setInboxListeners("/users/{identifier}/inbox", "/inbox");
for (const cls of [Follow, Accept, Reject, Undo, Create, Update, Delete, Announce, Like, EmojiReact, Block, Flag, Move, Add, Remove]) {
  listeners.on(cls, onActivity);
}
listeners
  .on(Activity, onActivity) // catch-all: fedify dispatches to the nearest registered superclass
  .onError((_ctx, error) => {
    pushLog("inboxErrors", { at: new Date().toISOString(), where: "inbox", error: String(error?.stack ?? error) });
  })
  .onUnverifiedActivity(async (_ctx, activity, reason) => {
    const store = requestStore.getStore() ?? {};
    let keyFetch = null;
    if (reason.type === "keyFetchError") {
      keyFetch = "status" in reason.result ? { status: reason.result.status } : { error: String(reason.result.error) };
    }
    pushLog("unverified", {
      type: store.rawJson?.type ?? activity.constructor.name,
      id: activity.id?.href ?? null,
      actor: activity.actorId?.href ?? null,
      inbox: store.path ?? null,
      reason: reason.type,
      keyId: reason.keyId?.href ?? null,
      keyFetch,
      signature: store.signature ?? null,
      raw: store.rawJson ?? null,
      receivedAt: new Date().toISOString(),
    });
    // returning nothing keeps fedify's default answer: 401
  })
  // Fetches made while processing shared-inbox deliveries are signed by alice too (personal-inbox ones are).
  .setSharedKeyDispatcher(() => ({ identifier: IDENTIFIER }));

// ---------------------------------------------------------------------------------------------------------------
// Outbound helpers
// ---------------------------------------------------------------------------------------------------------------

async function lookupActor(ctx, url) {
  const loader = await ctx.getDocumentLoader({ identifier: IDENTIFIER });
  const obj = await ctx.lookupObject(url, { documentLoader: loader });
  if (obj == null) throw new Error(`could not look up ${url} (${await diagnoseFetch(loader, url)})`);
  if (!isActor(obj)) throw new Error(`${url} is a ${obj.constructor.name}, not an actor`);
  if (obj.inboxId == null) throw new Error(`actor ${url} has no inbox`);
  return obj;
}

async function diagnoseFetch(loader, url) {
  try {
    const doc = await loader(url);
    return `fetched, but fedify could not use the document: ${JSON.stringify(doc.document).slice(0, 300)}`;
  } catch (e) {
    return String(e?.message ?? e);
  }
}

// deliverTo: list of actor URLs, and/or the string "followers".
async function resolveRecipients(ctx, deliverTo) {
  const recipients = [];
  let toFollowers = false;
  for (const target of deliverTo ?? []) {
    if (target === "followers") toFollowers = true;
    else recipients.push(recipientOf(await lookupActor(ctx, target)));
  }
  if (toFollowers) {
    for (const f of state.followers.values()) {
      if (f.inbox == null) continue;
      if (recipients.some((r) => r.id.href === f.id)) continue;
      recipients.push({
        id: new URL(f.id),
        inboxId: new URL(f.inbox),
        endpoints: f.sharedInbox ? { sharedInbox: new URL(f.sharedInbox) } : null,
      });
    }
  }
  return recipients;
}

async function deliver(ctx, activity, recipients, { preferSharedInbox = false } = {}) {
  state.activities.set(activity.id.href, activity);
  const entry = {
    type: activity.constructor.name,
    id: activity.id.href,
    recipients: recipients.map((r) => r.id.href),
    inboxes: recipients.map((r) => (preferSharedInbox && r.endpoints?.sharedInbox ? r.endpoints.sharedInbox : r.inboxId)?.href ?? null),
    json: await activity.toJsonLd({ contextLoader: ctx.contextLoader }),
    ok: null,
    error: null,
    at: new Date().toISOString(),
  };
  try {
    if (recipients.length > 0) {
      await ctx.sendActivity({ identifier: IDENTIFIER }, recipients, activity, { preferSharedInbox });
    }
    entry.ok = true;
  } catch (e) {
    entry.ok = false;
    entry.error = String(e?.message ?? e);
  }
  pushLog("sent", entry);
  if (!entry.ok) throw new Error(`delivery of ${entry.type} failed: ${entry.error}`);
  return entry;
}

// Context used by /_control/send when the given activity has no "@context": AS2 plus the usual extension terms
// (EmojiReact and Emoji are not AS2 terms; without a mapping fedify would parse them as a bare Activity/Object).
const SEND_DEFAULT_CONTEXT = [
  "https://www.w3.org/ns/activitystreams",
  {
    litepub: "http://litepub.social/ns#",
    toot: "http://joinmastodon.org/ns#",
    EmojiReact: "litepub:EmojiReact",
    Emoji: "toot:Emoji",
    Hashtag: "as:Hashtag",
    sensitive: "as:sensitive",
  },
];

const urls = (xs) => (xs ?? []).map((x) => new URL(x));

// ---------------------------------------------------------------------------------------------------------------
// Control API
// ---------------------------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function requireString(body, key) {
  const v = body?.[key];
  if (typeof v !== "string" || v === "") throw new HttpError(400, `"${key}" (string) is required`);
  return v;
}

function matches(item, q) {
  for (const key of ["type", "actor", "object", "id", "recipient"]) {
    const want = q.get(key);
    if (want != null && item[key] !== want) return false;
  }
  return true;
}

const control = {
  "GET health": async () => ({
    ok: true,
    actor: aliceContext().getActorUri(IDENTIFIER).href,
    firstKnock: FIRST_KNOCK,
    onlyAccept: ONLY_ACCEPT,
    ed25519: !args["no-ed25519"],
  }),

  // What fedify's double-knocking remembered per origin after a successful signed request.
  "GET signature-specs": async () => {
    const specs = {};
    for await (const { key, value } of kv.list(KV_SPECS)) specs[key[key.length - 1]] = value;
    return { specs };
  },

  "GET inbox": async (_b, q) => ({ items: state.inbox.filter((i) => matches(i, q)) }),
  "GET unverified": async (_b, q) => ({ items: state.unverified.filter((i) => matches(i, q)) }),
  "GET sent": async (_b, q) => ({ items: state.sent.filter((i) => matches(i, q)) }),
  "GET errors": async () => ({ items: state.inboxErrors }),
  "GET requests": async () => ({ items: state.requests }),
  "GET state": async () => ({
    actor: aliceContext().getActorUri(IDENTIFIER).href,
    name: state.name,
    followers: [...state.followers.values()],
    following: [...state.following.values()],
    notes: [...state.notes.keys()],
    deletedNotes: [...state.deletedNotes.keys()],
  }),

  // Long-poll: /_control/wait?list=inbox|sent|unverified&type=..&actor=..&object=..&id=..&timeout=SECONDS
  "GET wait": async (_b, q) => {
    const list = q.get("list") ?? "inbox";
    if (!["inbox", "sent", "unverified", "inboxErrors"].includes(list)) throw new HttpError(400, `unknown list ${list}`);
    const timeout = Math.min(Number(q.get("timeout") ?? "10"), 60) * 1000;
    const predicate = (i) => matches(i, q);
    const found = state[list].find(predicate);
    if (found) return { ok: true, item: found };
    const item = await new Promise((resolve) => {
      const w = { list, predicate, resolve };
      waiters.add(w);
      setTimeout(() => {
        waiters.delete(w);
        resolve(null);
      }, timeout);
    });
    if (item == null) throw new HttpError(408, `nothing matched in ${list} within ${timeout / 1000}s`);
    return { ok: true, item };
  },

  "POST reset": async (body) => {
    state.inbox.length = 0;
    state.unverified.length = 0;
    state.inboxErrors.length = 0;
    state.sent.length = 0;
    state.requests.length = 0;
    if (body?.forgetSignatureSpecs || body?.all) {
      for await (const { key } of kv.list(KV_SPECS)) await kv.delete(key);
    }
    if (body?.clearCaches || body?.all) {
      for (const prefix of KV_CACHES) for await (const { key } of kv.list(prefix)) await kv.delete(key);
    }
    if (body?.all) {
      state.followers.clear();
      state.following.clear();
      state.notes.clear();
      state.deletedNotes.clear();
      state.activities.clear();
      state.outbox.length = 0;
    }
    return { ok: true };
  },

  "POST follow": async (body) => {
    const ctx = aliceContext();
    const target = await lookupActor(ctx, requireString(body, "target"));
    const follow = new Follow({
      id: newActivityId(ctx, Follow),
      actor: ctx.getActorUri(IDENTIFIER),
      object: target.id,
      to: target.id,
    });
    state.following.set(target.id.href, { id: target.id.href, inbox: target.inboxId.href, followId: follow.id.href, state: "pending" });
    await deliver(ctx, follow, [recipientOf(target)], body);
    return { ok: true, followId: follow.id.href };
  },

  "POST undo-follow": async (body) => {
    const ctx = aliceContext();
    const target = await lookupActor(ctx, requireString(body, "target"));
    const f = state.following.get(target.id.href);
    const follow = new Follow({
      id: f?.followId ? new URL(f.followId) : newActivityId(ctx, Follow),
      actor: ctx.getActorUri(IDENTIFIER),
      object: target.id,
    });
    const undo = new Undo({ id: newActivityId(ctx, Undo), actor: ctx.getActorUri(IDENTIFIER), object: follow, to: target.id });
    await deliver(ctx, undo, [recipientOf(target)], body);
    state.following.delete(target.id.href);
    return { ok: true, undoId: undo.id.href, followId: follow.id.href };
  },

  "POST create-note": async (body) => {
    const ctx = aliceContext();
    const content = requireString(body, "content");
    const recipients = await resolveRecipients(ctx, body.deliverTo);
    const to = body.to ? urls(body.to) : [PUBLIC_COLLECTION];
    const cc = body.cc ? urls(body.cc) : [ctx.getFollowersUri(IDENTIFIER)];
    const noteId = ctx.getObjectUri(Note, { identifier: IDENTIFIER, id: randomUUID() });
    const published = Temporal.Now.instant();
    const note = new Note({
      id: noteId,
      attribution: ctx.getActorUri(IDENTIFIER),
      content,
      mediaType: "text/html",
      summary: body.summary ?? null,
      sensitive: body.sensitive ?? null,
      replyTarget: body.inReplyTo ? new URL(body.inReplyTo) : null,
      url: noteId,
      published,
      tos: to,
      ccs: cc,
    });
    const create = new Create({
      id: newActivityId(ctx, Create),
      actor: ctx.getActorUri(IDENTIFIER),
      object: note,
      published,
      tos: to,
      ccs: cc,
    });
    state.notes.set(noteId.href, note);
    state.outbox.push(create.id.href);
    await deliver(ctx, create, recipients, body);
    return { ok: true, noteId: noteId.href, createId: create.id.href };
  },

  "POST delete-note": async (body) => {
    const ctx = aliceContext();
    const noteId = requireString(body, "noteId");
    const recipients = await resolveRecipients(ctx, body.deliverTo);
    const del = new Delete({
      id: newActivityId(ctx, Delete),
      actor: ctx.getActorUri(IDENTIFIER),
      object: new Tombstone({ id: new URL(noteId) }),
      tos: body.to ? urls(body.to) : [PUBLIC_COLLECTION],
      ccs: body.cc ? urls(body.cc) : [ctx.getFollowersUri(IDENTIFIER)],
    });
    state.notes.delete(noteId);
    state.deletedNotes.set(noteId, new Date().toISOString());
    await deliver(ctx, del, recipients, body);
    return { ok: true, deleteId: del.id.href };
  },

  "POST like": async (body) => {
    const ctx = aliceContext();
    const object = new URL(requireString(body, "object"));
    const recipients = await resolveRecipients(ctx, body.deliverTo);
    const like = new Like({
      id: newActivityId(ctx, Like),
      actor: ctx.getActorUri(IDENTIFIER),
      object,
      tos: body.to ? urls(body.to) : recipients.map((r) => r.id),
      content: body.content ?? null,
    });
    await deliver(ctx, like, recipients, body);
    return { ok: true, likeId: like.id.href };
  },

  "POST announce": async (body) => {
    const ctx = aliceContext();
    const object = new URL(requireString(body, "object"));
    const recipients = await resolveRecipients(ctx, body.deliverTo);
    const announce = new Announce({
      id: newActivityId(ctx, Announce),
      actor: ctx.getActorUri(IDENTIFIER),
      object,
      published: Temporal.Now.instant(),
      tos: body.to ? urls(body.to) : [PUBLIC_COLLECTION],
      ccs: body.cc ? urls(body.cc) : [ctx.getFollowersUri(IDENTIFIER), ...recipients.map((r) => r.id)],
    });
    state.outbox.push(announce.id.href);
    await deliver(ctx, announce, recipients, body);
    return { ok: true, announceId: announce.id.href };
  },

  // Undo of any activity alice sent earlier (Like, Announce, Follow, ...), embedded as sent.
  "POST undo": async (body) => {
    const ctx = aliceContext();
    const activityId = requireString(body, "activityId");
    const original = state.activities.get(activityId);
    if (original == null) throw new HttpError(404, `alice never sent ${activityId}`);
    const recipients = await resolveRecipients(ctx, body.deliverTo);
    const undo = new Undo({
      id: newActivityId(ctx, Undo),
      actor: ctx.getActorUri(IDENTIFIER),
      object: original,
      tos: body.to ? urls(body.to) : original.toIds,
      ccs: body.cc ? urls(body.cc) : original.ccIds,
    });
    await deliver(ctx, undo, recipients, body);
    return { ok: true, undoId: undo.id.href };
  },

  "POST update-profile": async (body) => {
    const ctx = aliceContext();
    if (typeof body?.name === "string") state.name = body.name;
    if (typeof body?.summary === "string") state.summary = body.summary;
    const recipients = await resolveRecipients(ctx, ["followers", ...(body?.deliverTo ?? [])]);
    const update = new Update({
      id: newActivityId(ctx, Update),
      actor: ctx.getActorUri(IDENTIFIER),
      object: await buildAlice(ctx, IDENTIFIER),
      tos: [PUBLIC_COLLECTION],
      ccs: [ctx.getFollowersUri(IDENTIFIER)],
    });
    await deliver(ctx, update, recipients, body);
    return { ok: true, updateId: update.id.href, recipients: recipients.map((r) => r.id.href) };
  },

  // Sends an arbitrary activity (JSON-LD) signed by alice.  Its actor is forced to alice and an id is assigned
  // when missing.
  "POST send": async (body) => {
    const ctx = aliceContext();
    const json = body?.activity;
    if (json == null || typeof json !== "object") throw new HttpError(400, `"activity" (object) is required`);
    let activity = await Activity.fromJsonLd(
      { "@context": SEND_DEFAULT_CONTEXT, ...json },
      { documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader },
    );
    const cls = activity.constructor;
    const kind = Object.entries(ACTIVITY_CLASSES).find(([, c]) => c === cls)?.[0];
    const id = activity.id ?? (kind ? newActivityId(ctx, cls) : new URL(`${BASE}/users/${IDENTIFIER}/activities/other/${randomUUID()}`));
    activity = activity.clone({ id, actor: ctx.getActorUri(IDENTIFIER) });
    const recipients = await resolveRecipients(ctx, body.deliverTo);
    await deliver(ctx, activity, recipients, body);
    return { ok: true, id: activity.id.href };
  },

  "POST lookup": async (body) => {
    const ctx = aliceContext();
    const url = requireString(body, "url");
    const loader = await ctx.getDocumentLoader({ identifier: IDENTIFIER });
    const obj = await ctx.lookupObject(url, { documentLoader: loader });
    if (obj == null) throw new HttpError(502, `lookup of ${url} failed: ${await diagnoseFetch(loader, url)}`);
    const result = {
      ok: true,
      type: obj.constructor.name,
      id: obj.id?.href ?? null,
      json: await obj.toJsonLd({ contextLoader: ctx.contextLoader }),
    };
    if (body.raw) result.raw = (await loader(url)).document;
    if (isActor(obj)) {
      result.isActor = true;
      result.publicKeys = [];
      result.publicKeyOwners = [];
      try {
        for await (const key of obj.getPublicKeys({ documentLoader: loader, contextLoader: ctx.contextLoader })) {
          result.publicKeys.push(key.id?.href ?? null);
          result.publicKeyOwners.push(key.ownerId?.href ?? null);
        }
      } catch (e) {
        result.publicKeyError = String(e?.message ?? e);
      }
      result.assertionMethods = obj.assertionMethodIds.map((u) => u.href);
      result.actor = {
        preferredUsername: obj.preferredUsername?.toString() ?? null,
        name: obj.name?.toString() ?? null,
        inbox: obj.inboxId?.href ?? null,
        outbox: obj.outboxId?.href ?? null,
        followers: obj.followersId?.href ?? null,
        following: obj.followingId?.href ?? null,
        sharedInbox: obj.endpoints?.sharedInbox?.href ?? null,
        manuallyApprovesFollowers: obj.manuallyApprovesFollowers ?? null,
      };
    } else {
      result.isActor = false;
    }
    return result;
  },

  "POST nodeinfo": async (body) => {
    const base = requireString(body, "url").replace(/\/+$/, "");
    const wellKnownUrl = `${base}/.well-known/nodeinfo`;
    const wk = await fetch(wellKnownUrl, { headers: { Accept: "application/json" }, redirect: "manual" });
    if (!wk.ok) throw new HttpError(502, `GET ${wellKnownUrl} answered ${wk.status}`);
    const wellKnown = await wk.json();
    const links = Array.isArray(wellKnown?.links) ? wellKnown.links : [];
    const schemaLinks = links.filter((l) => typeof l?.rel === "string" && l.rel.startsWith("http://nodeinfo.diaspora.software/ns/schema/"));
    if (schemaLinks.length === 0) throw new HttpError(502, `${wellKnownUrl} has no nodeinfo schema link`);
    const documents = [];
    for (const link of schemaLinks) {
      const doc = { rel: link.rel, href: link.href, ok: false, status: null, contentType: null, error: null, raw: null, nodeinfo: null };
      try {
        const r = await fetch(link.href, { headers: { Accept: "application/json" }, redirect: "manual" });
        doc.status = r.status;
        doc.contentType = r.headers.get("content-type");
        doc.raw = await r.json();
        const parsed = parseNodeInfo(doc.raw, { tryBestEffort: false });
        if (parsed == null) {
          doc.error = "parseNodeInfo(tryBestEffort: false) rejected the document";
          doc.hints = nodeInfoHints(doc.raw);
        }
        else {
          doc.ok = r.ok;
          doc.nodeinfo = nodeInfoToJson(parsed);
        }
      } catch (e) {
        doc.error = String(e?.message ?? e);
      }
      documents.push(doc);
    }
    // Report the newest schema version first.
    documents.sort((a, b) => b.rel.localeCompare(a.rel));
    const ok = documents.every((d) => d.ok);
    return { ok, nodeinfo: documents[0].nodeinfo, raw: documents[0].raw, wellKnown, documents, _status: ok ? 200 : 502 };
  },
};

// parseNodeInfo() says only "null"; these are the strict-mode rules it applies, as seen in fedify 2.3.6.
function nodeInfoHints(d) {
  const hints = [];
  const isObj = (v) => v != null && typeof v === "object" && !Array.isArray(v);
  if (!isObj(d)) return ["document is not a JSON object"];
  if (!isObj(d.software)) hints.push("software must be an object");
  else {
    if (typeof d.software.name !== "string" || !/^[a-z0-9-]+$/.test(d.software.name)) hints.push("software.name must match [a-z0-9-]+");
    if (typeof d.software.version !== "string") hints.push("software.version must be a string");
  }
  if (!Array.isArray(d.protocols)) hints.push("protocols must be an array");
  if (!isObj(d.services) || !Array.isArray(d.services.inbound) || !Array.isArray(d.services.outbound)) {
    hints.push("services must be an object with inbound and outbound arrays");
  }
  if (typeof d.openRegistrations !== "boolean") hints.push("openRegistrations must be a boolean");
  if (!isObj(d.usage) || !isObj(d.usage.users)) hints.push("usage.users must be an object");
  if (d.metadata != null && !isObj(d.metadata)) hints.push("metadata must be an object");
  return hints;
}

async function handleControl(req, body, url) {
  const name = url.pathname.slice("/_control/".length);
  const handler = control[`${req.method} ${name}`];
  if (handler == null) return [404, { ok: false, error: `no control endpoint ${req.method} /_control/${name}` }];
  let parsed = {};
  if (req.method === "POST" && body.length > 0) {
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch (e) {
      return [400, { ok: false, error: `invalid JSON body: ${e.message}` }];
    }
  }
  try {
    const result = await handler(parsed, url.searchParams);
    const status = result?._status ?? 200;
    if (result && "_status" in result) delete result._status;
    return [status, result];
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 502;
    const cause = e?.cause ? ` (${e.cause.code ?? e.cause.message ?? e.cause})` : "";
    return [status, { ok: false, error: `${e?.message ?? e}${cause}` }];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------------------------------------------

function isInboxPath(pathname) {
  return pathname === "/inbox" || /^\/users\/[^/]+\/inbox$/.test(pathname);
}

async function checkHttpSignature(request, store) {
  // Independent check with fedify's own verifier (fedify itself skips the HTTP signature when an LD signature
  // or an Object Integrity Proof verifies first).  Key fetches are signed by alice, like fedify's.
  const ctx = aliceContext();
  const loader = await ctx.getDocumentLoader({ identifier: IDENTIFIER });
  try {
    const r = await verifyRequestDetailed(request, { documentLoader: loader, contextLoader: ctx.contextLoader });
    store.httpCheck = r.verified ? { verified: true, reason: null } : { verified: false, reason: r.reason.type };
  } catch (e) {
    store.httpCheck = { verified: false, reason: `error: ${e?.message ?? e}` };
  }
}

const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  const url = new URL(req.url, BASE);

  if (url.pathname.startsWith("/_control/")) {
    const [status, payload] = await handleControl(req, body, url);
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(payload));
    return;
  }

  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const makeRequest = () =>
    new Request(url, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });

  const logEntry = {
    at: new Date().toISOString(),
    method: req.method,
    path: url.pathname + url.search,
    accept: headers.get("accept"),
    contentType: headers.get("content-type"),
    userAgent: headers.get("user-agent"),
    signature: parseSignatureHeaders(headers),
    status: null,
  };
  const store = { path: url.pathname, signature: logEntry.signature, rawJson: null, fedifyVerdict: null, httpCheck: null };

  let response;
  try {
    // Deleted notes: 410 with a Tombstone (fedify only does this for actors).
    const noteUrl = `${BASE}${url.pathname}`;
    if (req.method === "GET" && state.deletedNotes.has(noteUrl)) {
      response = new Response(
        JSON.stringify({ "@context": "https://www.w3.org/ns/activitystreams", id: noteUrl, type: "Tombstone", deleted: state.deletedNotes.get(noteUrl) }),
        { status: 410, headers: { "Content-Type": "application/activity+json" } },
      );
    } else {
      const rejectScheme = ONLY_ACCEPT != null && req.method === "POST" && isInboxPath(url.pathname) && logEntry.signature?.scheme !== ONLY_ACCEPT;
      if (rejectScheme) {
        // --only-accept: behave like a server that knows a single signature scheme (triggers fedify's double knock).
        logEntry.rejectedByOnlyAccept = true;
        response = new Response(`This peer only accepts ${ONLY_ACCEPT} signatures\n`, { status: 401, headers: { "Content-Type": "text/plain" } });
      } else if (req.method === "POST" && isInboxPath(url.pathname)) {
        try {
          store.rawJson = JSON.parse(body.toString("utf8"));
        } catch {
          store.rawJson = null;
        }
        if (logEntry.signature != null) await checkHttpSignature(makeRequest(), store);
        else store.httpCheck = { verified: false, reason: "noSignature" };
      }
      if (response == null) response = await requestStore.run(store, () =>
        federation.fetch(makeRequest(), {
          contextData: undefined,
          onNotFound: () => new Response("Not found\n", { status: 404, headers: { "Content-Type": "text/plain" } }),
          onNotAcceptable: () => new Response("Not acceptable\n", { status: 406, headers: { "Content-Type": "text/plain" } }),
        }),
      );
    }
  } catch (e) {
    process.stderr.write(`[peer ${PORT}] request error: ${e?.stack ?? e}\n`);
    response = new Response(`Internal error: ${e}\n`, { status: 500, headers: { "Content-Type": "text/plain" } });
  }
  logEntry.status = response.status;
  if (store.httpCheck) logEntry.httpSignatureVerified = store.httpCheck.verified;
  pushLog("requests", logEntry);

  const outHeaders = {};
  response.headers.forEach((v, k) => {
    outHeaders[k] = v;
  });
  res.writeHead(response.status, outHeaders);
  res.end(Buffer.from(await response.arrayBuffer()));
});

function shutdown(signal) {
  process.stderr.write(`[peer ${PORT}] ${signal}: shutting down\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

server.on("error", (e) => {
  console.error(`[peer ${PORT}] server error: ${e.message}`);
  process.exit(1);
});
server.listen(PORT, HOST, () => {
  process.stdout.write(`PEER READY ${BASE}\n`);
});
