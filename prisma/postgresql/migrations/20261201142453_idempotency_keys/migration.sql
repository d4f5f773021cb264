-- CreateTable
CREATE TABLE "IdempotencyKey" (
    "session" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "result" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IdempotencyKey_pkey" PRIMARY KEY ("session","key")
);

-- CreateIndex
CREATE INDEX "IdempotencyKey_session_createdAt_idx" ON "IdempotencyKey"("session", "createdAt");
