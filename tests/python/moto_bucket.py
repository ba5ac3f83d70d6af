"""Makes or deletes one bucket on the tests' moto server.

Usage: moto_bucket.py create|delete ENDPOINT BUCKET. A deleted bucket's
objects go first (S3 deletes empty buckets only).
"""

import sys

import boto3

action, endpoint, name = sys.argv[1:4]
s3 = boto3.resource(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id="test",
    aws_secret_access_key="test",
    region_name="us-east-1",
)
bucket = s3.Bucket(name)
if action == "create":
    bucket.create()
elif action == "delete":
    bucket.objects.all().delete()
    bucket.delete()
else:
    sys.exit(f"unknown action {action}")
