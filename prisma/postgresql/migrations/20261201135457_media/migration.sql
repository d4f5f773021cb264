-- CreateTable
CREATE TABLE "Media" (
    "session" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "chat" TEXT NOT NULL,
    "mimetype" TEXT NOT NULL,
    "fileName" TEXT,
    "size" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "source" TEXT NOT NULL,
    "data" BYTEA,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Media_pkey" PRIMARY KEY ("session","id")
);

-- CreateIndex
CREATE INDEX "Media_session_status_createdAt_idx" ON "Media"("session", "status", "createdAt");

-- CreateIndex
CREATE INDEX "Media_session_createdAt_idx" ON "Media"("session", "createdAt");
