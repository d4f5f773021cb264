-- CreateTable
CREATE TABLE "Message" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "session" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "chat" TEXT NOT NULL,
    "sender" TEXT NOT NULL,
    "fromMe" BOOLEAN NOT NULL,
    "type" TEXT NOT NULL,
    "sentAt" DATETIME NOT NULL,
    "status" INTEGER NOT NULL,
    "data" TEXT NOT NULL,
    "receipts" TEXT,
    "editedAt" DATETIME,
    "deletedAt" DATETIME
);

-- CreateTable
CREATE TABLE "Chat" (
    "session" TEXT NOT NULL,
    "jid" TEXT NOT NULL,
    "name" TEXT,
    "lastMessageId" TEXT,
    "activityAt" DATETIME NOT NULL,
    "unreadCount" INTEGER NOT NULL DEFAULT 0,

    PRIMARY KEY ("session", "jid")
);

-- CreateIndex
CREATE INDEX "Message_session_chat_sentAt_seq_idx" ON "Message"("session", "chat", "sentAt", "seq");

-- CreateIndex
CREATE INDEX "Message_session_chat_type_sentAt_seq_idx" ON "Message"("session", "chat", "type", "sentAt", "seq");

-- CreateIndex
CREATE INDEX "Message_session_chat_sender_sentAt_seq_idx" ON "Message"("session", "chat", "sender", "sentAt", "seq");

-- CreateIndex
CREATE INDEX "Message_session_sentAt_idx" ON "Message"("session", "sentAt");

-- CreateIndex
CREATE UNIQUE INDEX "Message_session_id_key" ON "Message"("session", "id");

-- CreateIndex
CREATE INDEX "Chat_session_activityAt_jid_idx" ON "Chat"("session", "activityAt", "jid");
