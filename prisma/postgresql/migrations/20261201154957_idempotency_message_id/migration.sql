-- AlterTable
ALTER TABLE "IdempotencyKey" ADD COLUMN     "messageId" TEXT,
ADD COLUMN     "owner" TEXT;
