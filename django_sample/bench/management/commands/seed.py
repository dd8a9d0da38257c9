"""Loads the authors and articles of fixtures/seed/ into an empty database."""

import csv
import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from bench.models import Article, Author

DEFAULT_DIR = Path(__file__).resolve().parents[4] / "fixtures" / "seed"


class Command(BaseCommand):
    help = "Load the seed data (authors, articles) from fixtures/seed/."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)

    def handle(self, *args, dir, **options):
        if Author.objects.exists():
            raise CommandError("the database already has authors: seed an empty one")
        try:
            with (dir / "authors.csv").open() as f:
                authors = [
                    Author(id=int(r["id"]), name=r["name"], country=r["country"])
                    for r in csv.DictReader(f)
                ]
            with (dir / "articles.csv").open() as f:
                articles = [
                    Article(
                        id=int(r["id"]),
                        author_id=int(r["author_id"]),
                        title=r["title"],
                        body=r["body"],
                        published=datetime.date.fromisoformat(r["published"]),
                        words=int(r["words"]),
                        rating=float(r["rating"]),
                    )
                    for r in csv.DictReader(f)
                ]
        except FileNotFoundError as e:
            raise CommandError(f"no seed data: {e.filename}") from e
        with transaction.atomic():
            Author.objects.bulk_create(authors, batch_size=500)
            Article.objects.bulk_create(articles, batch_size=500)
        self.stdout.write(f"seeded {len(authors)} authors, {len(articles)} articles")
