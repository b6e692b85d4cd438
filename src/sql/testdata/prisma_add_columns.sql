-- AlterEnum
ALTER TYPE "Role" ADD VALUE 'GUEST';

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "age" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "lastSeen" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "nickname" TEXT NOT NULL,
ADD COLUMN     "token" UUID NOT NULL;

-- AlterTable
ALTER TABLE "Profile" ALTER COLUMN "bio" SET DATA TYPE VARCHAR(1000);

-- AlterTable
ALTER TABLE "posts" DROP COLUMN "payload";

-- CreateIndex
CREATE INDEX "User_name_idx" ON "User"("name");
