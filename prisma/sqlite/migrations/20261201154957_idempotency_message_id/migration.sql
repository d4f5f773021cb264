-- AlterTable
ALTER TABLE "IdempotencyKey" ADD COLUMN "messageId" TEXT;
ALTER TABLE "IdempotencyKey" ADD COLUMN "owner" TEXT;
