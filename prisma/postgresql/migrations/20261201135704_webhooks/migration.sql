-- DropIndex
DROP INDEX "WebhookDelivery_session_status_nextAttemptAt_seq_idx";

-- AlterTable
ALTER TABLE "WebhookDelivery" ADD COLUMN     "webhook" TEXT NOT NULL DEFAULT '';

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
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Webhook_pkey" PRIMARY KEY ("session","id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Webhook_session_position_key" ON "Webhook"("session", "position");

-- CreateIndex
CREATE INDEX "WebhookDelivery_session_webhook_status_nextAttemptAt_seq_idx" ON "WebhookDelivery"("session", "webhook", "status", "nextAttemptAt", "seq");

-- CreateIndex
CREATE INDEX "WebhookDelivery_session_status_seq_idx" ON "WebhookDelivery"("session", "status", "seq");
