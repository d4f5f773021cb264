-- CreateTable
CREATE TABLE "Webhook" (
    "session" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "url" TEXT,
    "events" TEXT,
    "secret" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "gone" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("session", "id")
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_WebhookDelivery" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "session" TEXT NOT NULL,
    "webhook" TEXT NOT NULL DEFAULT '',
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
INSERT INTO "new_WebhookDelivery" ("attempts", "createdAt", "deliveredAt", "event", "id", "lastError", "lastStatus", "nextAttemptAt", "payload", "seq", "session", "status") SELECT "attempts", "createdAt", "deliveredAt", "event", "id", "lastError", "lastStatus", "nextAttemptAt", "payload", "seq", "session", "status" FROM "WebhookDelivery";
DROP TABLE "WebhookDelivery";
ALTER TABLE "new_WebhookDelivery" RENAME TO "WebhookDelivery";
CREATE UNIQUE INDEX "WebhookDelivery_id_key" ON "WebhookDelivery"("id");
CREATE INDEX "WebhookDelivery_session_webhook_status_nextAttemptAt_seq_idx" ON "WebhookDelivery"("session", "webhook", "status", "nextAttemptAt", "seq");
CREATE INDEX "WebhookDelivery_session_status_seq_idx" ON "WebhookDelivery"("session", "status", "seq");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "Webhook_session_position_key" ON "Webhook"("session", "position");
