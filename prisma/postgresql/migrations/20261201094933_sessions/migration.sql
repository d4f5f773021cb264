-- Sessions: every existing row becomes the `default` session's, so a paired device stays paired.
-- (Hand-edited after `npm run db:new-migration`: the column is added with a default that fills the
-- existing rows, and the default is dropped again at the end.)

-- DropIndex
DROP INDEX "Contact_lid_idx";

-- DropIndex
DROP INDEX "LidMapping_pn_idx";

-- DropIndex
DROP INDEX "Event_type_id_idx";

-- DropIndex
DROP INDEX "WebhookDelivery_status_nextAttemptAt_seq_idx";

-- DropIndex
DROP INDEX "SentMessage_createdAt_idx";

-- AlterTable
ALTER TABLE "AuthKey" DROP CONSTRAINT "AuthKey_pkey",
ADD COLUMN     "session" TEXT NOT NULL DEFAULT 'default',
ADD CONSTRAINT "AuthKey_pkey" PRIMARY KEY ("session", "type", "id");

-- AlterTable
ALTER TABLE "Setting" DROP CONSTRAINT "Setting_pkey",
ADD COLUMN     "session" TEXT NOT NULL DEFAULT 'default',
ADD CONSTRAINT "Setting_pkey" PRIMARY KEY ("session", "key");

-- AlterTable
ALTER TABLE "Contact" DROP CONSTRAINT "Contact_pkey",
ADD COLUMN     "session" TEXT NOT NULL DEFAULT 'default',
ADD CONSTRAINT "Contact_pkey" PRIMARY KEY ("session", "jid");

-- AlterTable
ALTER TABLE "LidMapping" DROP CONSTRAINT "LidMapping_pkey",
ADD COLUMN     "session" TEXT NOT NULL DEFAULT 'default',
ADD CONSTRAINT "LidMapping_pkey" PRIMARY KEY ("session", "lid");

-- AlterTable
ALTER TABLE "Event" ADD COLUMN     "session" TEXT NOT NULL DEFAULT 'default';

-- AlterTable
ALTER TABLE "WebhookDelivery" ADD COLUMN     "session" TEXT NOT NULL DEFAULT 'default';

-- AlterTable
ALTER TABLE "SentMessage" DROP CONSTRAINT "SentMessage_pkey",
ADD COLUMN     "session" TEXT NOT NULL DEFAULT 'default',
ADD CONSTRAINT "SentMessage_pkey" PRIMARY KEY ("session", "id");

-- CreateTable
CREATE TABLE "Session" (
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "SessionKey" (
    "id" TEXT NOT NULL,
    "session" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SessionKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServiceNode" (
    "id" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seenAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ServiceNode_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "SessionKey_hash_key" ON "SessionKey"("hash");

-- CreateIndex
CREATE INDEX "SessionKey_session_idx" ON "SessionKey"("session");

-- CreateIndex
CREATE INDEX "Contact_session_lid_idx" ON "Contact"("session", "lid");

-- CreateIndex
CREATE INDEX "LidMapping_session_pn_idx" ON "LidMapping"("session", "pn");

-- CreateIndex
CREATE INDEX "Event_session_id_idx" ON "Event"("session", "id");

-- CreateIndex
CREATE INDEX "Event_session_type_id_idx" ON "Event"("session", "type", "id");

-- CreateIndex
CREATE INDEX "WebhookDelivery_session_status_nextAttemptAt_seq_idx" ON "WebhookDelivery"("session", "status", "nextAttemptAt", "seq");

-- CreateIndex
CREATE INDEX "SentMessage_session_createdAt_idx" ON "SentMessage"("session", "createdAt");

-- Existing rows are filled, new rows always name their session.
ALTER TABLE "AuthKey" ALTER COLUMN "session" DROP DEFAULT;
ALTER TABLE "Setting" ALTER COLUMN "session" DROP DEFAULT;
ALTER TABLE "Contact" ALTER COLUMN "session" DROP DEFAULT;
ALTER TABLE "LidMapping" ALTER COLUMN "session" DROP DEFAULT;
ALTER TABLE "Event" ALTER COLUMN "session" DROP DEFAULT;
ALTER TABLE "WebhookDelivery" ALTER COLUMN "session" DROP DEFAULT;
ALTER TABLE "SentMessage" ALTER COLUMN "session" DROP DEFAULT;

-- The default session exists from the first start, the single-connection lease is replaced by one per session.
INSERT INTO "Session" ("name") VALUES ('default');
DELETE FROM "Lease";
