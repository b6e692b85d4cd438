-- DropForeignKey
ALTER TABLE "Profile" DROP CONSTRAINT "Profile_userId_fkey";

-- DropIndex
DROP INDEX "User_name_idx";

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "uid" UUID NOT NULL DEFAULT gen_random_uuid(),
ALTER COLUMN "name" SET NOT NULL;

-- AlterTable
ALTER TABLE "posts" ADD COLUMN     "categoryId" INTEGER;

-- DropTable
DROP TABLE "Profile";

-- CreateTable
CREATE TABLE "Category" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,

    CONSTRAINT "Category_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Category_name_key" ON "Category"("name");

-- AddForeignKey
ALTER TABLE "posts" ADD CONSTRAINT "posts_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category"("id") ON DELETE SET NULL ON UPDATE CASCADE;
