-- Sessions: every existing row becomes the `default` session's, so a paired device stays paired.
-- (Hand-edited after `npm run db:new-migration`: the generated copy left "session" empty.)

-- CreateTable
CREATE TABLE "Session" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "SessionKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "session" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ServiceNode" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "url" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seenAt" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_AuthKey" (
    "session" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("session", "type", "id")
);
INSERT INTO "new_AuthKey" ("session", "id", "type", "updatedAt", "value") SELECT 'default', "id", "type", "updatedAt", "value" FROM "AuthKey";
DROP TABLE "AuthKey";
ALTER TABLE "new_AuthKey" RENAME TO "AuthKey";
CREATE TABLE "new_Setting" (
    "session" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("session", "key")
);
INSERT INTO "new_Setting" ("session", "key", "updatedAt", "value") SELECT 'default', "key", "updatedAt", "value" FROM "Setting";
DROP TABLE "Setting";
ALTER TABLE "new_Setting" RENAME TO "Setting";
CREATE TABLE "new_Contact" (
    "session" TEXT NOT NULL,
    "jid" TEXT NOT NULL,
    "lid" TEXT,
    "phone" TEXT,
    "name" TEXT,
    "notify" TEXT,
    "verifiedName" TEXT,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("session", "jid")
);
INSERT INTO "new_Contact" ("session", "jid", "lid", "name", "notify", "phone", "updatedAt", "verifiedName") SELECT 'default', "jid", "lid", "name", "notify", "phone", "updatedAt", "verifiedName" FROM "Contact";
DROP TABLE "Contact";
ALTER TABLE "new_Contact" RENAME TO "Contact";
CREATE INDEX "Contact_session_lid_idx" ON "Contact"("session", "lid");
CREATE TABLE "new_LidMapping" (
    "session" TEXT NOT NULL,
    "lid" TEXT NOT NULL,
    "pn" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("session", "lid")
);
INSERT INTO "new_LidMapping" ("session", "lid", "pn", "updatedAt") SELECT 'default', "lid", "pn", "updatedAt" FROM "LidMapping";
DROP TABLE "LidMapping";
ALTER TABLE "new_LidMapping" RENAME TO "LidMapping";
CREATE INDEX "LidMapping_session_pn_idx" ON "LidMapping"("session", "pn");
CREATE TABLE "new_Event" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "session" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "data" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_Event" ("session", "createdAt", "data", "id", "type") SELECT 'default', "createdAt", "data", "id", "type" FROM "Event";
DROP TABLE "Event";
ALTER TABLE "new_Event" RENAME TO "Event";
CREATE INDEX "Event_session_id_idx" ON "Event"("session", "id");
CREATE INDEX "Event_session_type_id_idx" ON "Event"("session", "type", "id");
CREATE TABLE "new_WebhookDelivery" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "session" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastError" TEXT,
    "lastStatus" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" DATETIME
);
INSERT INTO "new_WebhookDelivery" ("session", "attempts", "createdAt", "deliveredAt", "event", "id", "lastError", "lastStatus", "nextAttemptAt", "payload", "seq", "status") SELECT 'default', "attempts", "createdAt", "deliveredAt", "event", "id", "lastError", "lastStatus", "nextAttemptAt", "payload", "seq", "status" FROM "WebhookDelivery";
DROP TABLE "WebhookDelivery";
ALTER TABLE "new_WebhookDelivery" RENAME TO "WebhookDelivery";
CREATE UNIQUE INDEX "WebhookDelivery_id_key" ON "WebhookDelivery"("id");
CREATE INDEX "WebhookDelivery_session_status_nextAttemptAt_seq_idx" ON "WebhookDelivery"("session", "status", "nextAttemptAt", "seq");
CREATE TABLE "new_SentMessage" (
    "session" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "jid" TEXT NOT NULL,
    "content" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("session", "id")
);
INSERT INTO "new_SentMessage" ("session", "content", "createdAt", "id", "jid") SELECT 'default', "content", "createdAt", "id", "jid" FROM "SentMessage";
DROP TABLE "SentMessage";
ALTER TABLE "new_SentMessage" RENAME TO "SentMessage";
CREATE INDEX "SentMessage_session_createdAt_idx" ON "SentMessage"("session", "createdAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "SessionKey_hash_key" ON "SessionKey"("hash");

-- CreateIndex
CREATE INDEX "SessionKey_session_idx" ON "SessionKey"("session");

-- The default session exists from the first start, the single-connection lease is replaced by one per session.
INSERT INTO "Session" ("name") VALUES ('default');
DELETE FROM "Lease";
